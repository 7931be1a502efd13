"""Matching BI SQL to dbt relations: the public API in one place.

``extract_reads`` renders Mode Liquid, parses with sqlglot and collects the tables a
query reads (``lineage_utils.sql_templates`` and ``lineage_utils.sql_reads``);
``RelationIndex.resolve`` matches each read to the manifest's relations
(``lineage_utils.sql_resolve``).
"""

from __future__ import annotations

from lineage_utils.sql_reads import MAX_SQL_CHARS, PASSES, Extraction, TableRead, extract_reads
from lineage_utils.sql_resolve import (
    ADAPTER_DIALECTS,
    Relation,
    RelationIndex,
    RefStatus,
    Resolution,
    dialect_for_adapter,
    normalize_parts,
    normalize_read,
)
from lineage_utils.sql_templates import Rendering, TemplatePath, render_template

__all__ = [
    "ADAPTER_DIALECTS",
    "MAX_SQL_CHARS",
    "PASSES",
    "Extraction",
    "RefStatus",
    "Relation",
    "RelationIndex",
    "Rendering",
    "Resolution",
    "TableRead",
    "TemplatePath",
    "dialect_for_adapter",
    "extract_reads",
    "normalize_parts",
    "normalize_read",
    "render_template",
]
