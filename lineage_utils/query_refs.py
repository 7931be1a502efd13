"""Every table reference of every BI query, resolved against the dbt relations.

One row per reference in ``query_refs.parquet``: the text as written, how the
template was handled, the status (resolved, ambiguous, external, unparsed) and the
candidate nodes. An unparsed query gets one row whose candidates are the dbt
relations its text mentions: they are protected, never resolved.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Mapping

import pandas as pd

from lineage_utils.bi_snapshot import BiQuery, DataSource, Definition
from lineage_utils.frames import row_dicts
from lineage_utils.sql_refs import Relation, RelationIndex, dialect_for_adapter, extract_reads

logger = logging.getLogger(__name__)

COLUMNS = [
    "query_node_id", "report_token", "query_token", "data_source_id", "dialect", "template_path", "parsed",
    "raw", "catalog", "db", "name", "conditional", "status", "candidates", "reason",
]


def relations_from_nodes(nodes: pd.DataFrame) -> list[Relation]:
    return [
        Relation(unique_id=row["unique_id"], database=row.get("database"), schema=row.get("schema"),
                 identifier=row.get("identifier"))
        for row in row_dicts(nodes)
        if row["kind"] in {"model", "source", "seed", "snapshot"} and row.get("identifier")
    ]


def resolve_query_refs(queries: Iterable[BiQuery], data_sources: Mapping[str, DataSource],
                       definitions: Mapping[str, Definition], relations: list[Relation],
                       source_config: Any, dialect_overrides: Mapping[str, str]) -> pd.DataFrame:
    """Resolve every query. ``source_config(id, name)`` gives a data source's params entry."""
    texts = {name: d.source for name, d in definitions.items()}
    indexes: dict[str, RelationIndex] = {}
    rows: list[dict[str, Any]] = []
    for query in queries:
        source = data_sources.get(query.data_source_id or "")
        conf = source_config(query.data_source_id, source.name if source else None)
        dialect = conf.get("dialect") or dialect_for_adapter(source.adapter if source else None, dialect_overrides)
        if dialect not in indexes:
            indexes[dialect] = RelationIndex(relations, dialect)
        index = indexes[dialect]
        default_db = conf.get("default_database") or (source.database if source else None)
        search_path = tuple(conf.get("search_path") or ())
        extraction = extract_reads(query.raw_query, dialect, texts)
        base = {
            "query_node_id": query.node_id, "report_token": query.report_token, "query_token": query.token,
            "data_source_id": query.data_source_id, "dialect": dialect,
            "template_path": extraction.template_path, "parsed": extraction.parsed,
        }
        if not extraction.parsed:
            rows.append({**base, "raw": "", "catalog": None, "db": None, "name": None, "conditional": False,
                         "status": "unparsed", "candidates": list(index.mentions(query.raw_query)),
                         "reason": extraction.reason or "could not be parsed"})
            continue
        for read in extraction.reads:
            resolution = index.resolve(read, default_db, search_path)
            rows.append({**base, "raw": read.raw, "catalog": read.catalog, "db": read.db, "name": read.name,
                         "conditional": read.conditional, "status": resolution.status,
                         "candidates": list(resolution.candidates), "reason": resolution.reason})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    logger.info("resolved %d references of %d queries", len(frame), frame["query_node_id"].nunique())
    return frame


def resolution_summary(refs: pd.DataFrame, queries: pd.DataFrame) -> pd.DataFrame:
    """Per data source: references by status and the resolved share."""
    names = dict(zip(queries["data_source_id"].astype(str), queries["data_source_name"]))
    table = refs.pivot_table(index="data_source_id", columns="status", values="query_node_id",
                             aggfunc="count", fill_value=0)
    for status in ("resolved", "ambiguous", "external", "unparsed"):
        if status not in table.columns:
            table[status] = 0
    table = table[["resolved", "ambiguous", "external", "unparsed"]]
    table["total"] = table.sum(axis=1)
    table["resolved_share"] = (table["resolved"] / table["total"]).round(3)
    table.insert(0, "data_source", [names.get(str(i)) for i in table.index])
    return table.reset_index()


def resolution_rate(refs: pd.DataFrame) -> float:
    return float((refs["status"] == "resolved").mean()) if len(refs) else 1.0


def problem_refs(refs: pd.DataFrame, reports: pd.DataFrame) -> pd.DataFrame:
    """Ambiguous, external and unparsed references with their report and candidates."""
    names = dict(zip(reports["token"], reports["name"]))
    table = refs[refs["status"] != "resolved"].copy()
    table.insert(0, "report", [names.get(t) for t in table["report_token"]])
    keep = ["status", "report", "report_token", "query_token", "raw", "candidates", "reason", "conditional"]
    return table[keep].sort_values(["status", "report_token", "query_token", "raw"], ignore_index=True)
