"""The analyses, pure functions over the lineage graph.

``graph`` builds the holistic graph (its attributes declared in ``schema``);
``query_refs`` resolves BI SQL to dbt nodes; ``staleness`` judges reports;
``orphans`` decides consumers and orphans; ``centrality`` measures nodes and
``importance`` ranks them (``reach``: what lies downstream, in one pass; ``runtimes``,
``critical_path``: execution times and the longest chain of a dbt run).
"""
