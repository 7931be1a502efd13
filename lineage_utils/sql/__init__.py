"""Matching BI SQL to dbt relations: the public API in one place.

``extract_reads`` renders Mode Liquid, parses with sqlglot and collects the tables a
query reads (``lineage_utils.sql.templates`` and ``lineage_utils.sql.reads``);
``RelationIndex.resolve`` matches each read to the manifest's relations
(``lineage_utils.sql.resolve``). ``extract_all`` does many queries at once, cached across
runs (``lineage_utils.sql.batch``, ``lineage_utils.sql.cache``).
"""

from __future__ import annotations

from lineage_utils.sql.batch import BatchStats, ExtractJob, extract_all
from lineage_utils.sql.cache import ExtractionCache, cache_key
from lineage_utils.sql.reads import MAX_SQL_CHARS, PASSES, Extraction, TableRead, extract_reads
from lineage_utils.sql.resolve import (
    ADAPTER_DIALECTS,
    Relation,
    RelationIndex,
    RefStatus,
    Resolution,
    dialect_for_adapter,
    normalize_parts,
    normalize_read,
)
from lineage_utils.sql.templates import Rendering, TemplatePath, render_template

__all__ = [
    "ADAPTER_DIALECTS",
    "MAX_SQL_CHARS",
    "PASSES",
    "BatchStats",
    "ExtractJob",
    "Extraction",
    "ExtractionCache",
    "RefStatus",
    "Relation",
    "RelationIndex",
    "Rendering",
    "Resolution",
    "TableRead",
    "TemplatePath",
    "cache_key",
    "dialect_for_adapter",
    "extract_all",
    "extract_reads",
    "normalize_parts",
    "normalize_read",
    "render_template",
]
