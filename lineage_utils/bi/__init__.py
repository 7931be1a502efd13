"""The bi side of lineage_utils (see the package docstring)."""
