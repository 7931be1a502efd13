"""The dbt side: artifacts read into records, the demo build, frames, exposures.

``artifacts`` reads manifest.json (v7-v12) and run_results.json into frozen records;
``build`` runs real dbt for the demo; ``frames`` turns records into the run folder's
``dbt_nodes``/``dbt_edges``; ``exposures`` plans and renders the generated exposures.
"""
