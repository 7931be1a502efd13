"""The bi mode side of lineage_utils (see the package docstring)."""
