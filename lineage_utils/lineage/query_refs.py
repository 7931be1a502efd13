"""Every table reference of every BI query, resolved against the dbt relations.

One row per reference in ``query_refs.parquet``: the text as written, how the
template was handled, the status (resolved, ambiguous, external, unparsed) and the
candidate nodes. An unparsed query gets one row whose candidates are the dbt
relations its text mentions: they are protected, never resolved. So does a query whose
Liquid branches were not all read (see ``lineage_utils.sql.reads``): one conditional
``unparsed`` row whose candidates are what those branches' text mentions. A query that parses
but reads no table gets one marker row without a status (``status`` is null), so
every query, and the template path it took, stays visible; ``references`` drops them.

Besides the reference itself, each row carries its query's name, the default database
used (for BigQuery the data source's ``host`` when Mode says ``database: "default"``),
``template_note`` (what templating noticed: unknown definitions, a time budget hit, a
fallback) and ``missing_definitions``.

A data source marked ``bi.data_sources.<id>.warehouse: false`` (an app database, a second
warehouse) is not where dbt builds: its references are all external and link nothing,
not even the mentions of an unparsed query. ``warehouse`` says which rows are such, and
``warehouse_status`` keeps the status a read would have had on the warehouse, so that
:func:`resolution_summary` can flag a data source that looks wrongly marked either way. Extraction is cached across runs and parallel
for many queries (``lineage_utils.sql.batch``).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from lineage_utils.bi.snapshot import BiQuery, DataSource, Definition
from lineage_utils.records import row_dicts
from lineage_utils.sql.batch import ExtractJob, extract_all, gc_paused
from lineage_utils.sql.cache import ExtractionCache, load_result, package_sources, result_key, save_result
from lineage_utils.sql import Extraction, Relation, RelationIndex, TableRead, dialect_for_adapter
from lineage_utils.sql.branches import UNREAD_NOTE
from lineage_utils.sql.mentions import unread_branch_texts, with_definitions
from lineage_utils.sql.resolve import outside_warehouse

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class QueryRef:
    """One row of ``query_refs.parquet``: a reference (or the marker of an unparsed or read-nothing query)."""

    query_node_id: str
    report_token: str
    query_token: str
    data_source_id: str | None
    dialect: str
    template_path: str
    parsed: bool
    raw: str
    catalog: str | None
    db: str | None
    name: str | None
    conditional: bool
    status: str | None  # RefStatus, or None for the marker row of a query that reads no table
    candidates: list[str]
    reason: str | None
    query_name: str
    default_database: str | None
    template_note: str | None
    missing_definitions: list[str]
    warehouse: bool  # False: the data source is marked not where dbt builds (every read external)
    warehouse_status: str | None  # for those: the status the read would have had on the warehouse


@dataclass(frozen=True)
class SourceSettings:
    """How one data source's SQL is read and resolved (params over Mode's fields)."""

    dialect: str
    default_database: str | None
    search_path: tuple[str, ...]
    warehouse: bool
    label: str  # "'<name>' (<id>)", for reasons


COLUMNS: list[str] = [f.name for f in fields(QueryRef)]
"""The columns of ``query_refs``, from the record (rows are built as tuples in this order)."""
PROBLEM_STATUSES = ("ambiguous", "external", "unparsed")
NO_READS = "the query parses but reads no table"
FLAG_MIN_REFS = 3
"""A data source is flagged only when it has at least this many references."""


def relations_from_nodes(nodes: pd.DataFrame) -> list[Relation]:
    return [
        Relation(unique_id=row["unique_id"], database=row.get("database"), schema=row.get("schema"),
                 identifier=row.get("identifier"))
        for row in row_dicts(nodes)
        if row["kind"] in {"model", "source", "seed", "snapshot"} and row.get("identifier")
    ]


def default_database(source: DataSource | None, dialect: str) -> str | None:
    """The database a data source's unqualified names live in.

    Mode reports BigQuery data sources with ``database: "default"``; their project id
    is the ``host``.
    """
    if source is None:
        return None
    database = (source.database or "").strip()
    if dialect == "bigquery" and database.lower() in ("", "default") and (source.host or "").strip():
        return (source.host or "").strip()
    return database or None


def source_settings(source_id: str | None, source: DataSource | None, conf: Mapping[str, Any],
                    dialect_overrides: Mapping[str, str]) -> SourceSettings:
    """A data source's settings: its params entry ``conf`` first, then what Mode says."""
    dialect = conf.get("dialect") or dialect_for_adapter(source.adapter if source else None, dialect_overrides)
    name = source.name if source and source.name else None
    return SourceSettings(
        dialect=dialect, default_database=conf.get("default_database") or default_database(source, dialect),
        search_path=tuple(conf.get("search_path") or ()), warehouse=conf.get("warehouse") is not False,
        label=f"'{name}' ({source_id})" if name else f"{source_id}",
    )


def resolver_version() -> str:
    """Identifies the resolving code, so a cached reference table of other code is not reused."""
    digest = hashlib.sha256()
    for path in (*package_sources(), Path(__file__)):
        digest.update(path.name.encode() + b"\x00" + path.read_bytes())
    return digest.hexdigest()[:16]


def resolve_query_refs(queries: Iterable[BiQuery], data_sources: Mapping[str, DataSource],
                       definitions: Mapping[str, Definition], relations: list[Relation],
                       source_config: Any, dialect_overrides: Mapping[str, str],
                       cache_dir: Path | None = None, workers: int = 1) -> pd.DataFrame:
    """Resolve every query. ``source_config(id, name)`` gives a data source's params entry.

    Extractions are cached in ``cache_dir`` (None: not kept across runs) and parsed on
    ``workers`` processes when there are many.
    """
    texts = {name: d.source for name, d in definitions.items()}
    queries = list(queries)
    settings: dict[str | None, SourceSettings] = {}
    jobs = []
    for query in queries:
        if query.data_source_id not in settings:
            source = data_sources.get(query.data_source_id or "")
            conf = source_config(query.data_source_id, source.name if source else None) or {}
            settings[query.data_source_id] = source_settings(query.data_source_id, source, conf, dialect_overrides)
        jobs.append(ExtractJob.of(query.raw_query, settings[query.data_source_id].dialect, texts))
    key = result_key(
        (resolver_version(), sorted(relations, key=repr), sorted(settings.items(), key=repr)),
        [(q.node_id, q.data_source_id, q.name, j.dialect, j.sql, sorted(j.definitions.items()) if j.definitions else "")
         for q, j in zip(queries, jobs)],
    )
    frame = load_result(cache_dir, key, COLUMNS)
    if frame is not None:  # an identical re-run: nothing to parse or resolve
        logger.info("resolved %d references of %d queries (unchanged since an earlier run)",
                    int(frame["status"].notna().sum()), len(queries))
        return frame
    cache = ExtractionCache.open(cache_dir)
    extractions, _ = extract_all(jobs, cache, workers)
    cache.save()
    with gc_paused():
        frame = _reference_rows(queries, extractions, settings, relations,
                                {q.node_id: j.definitions for q, j in zip(queries, jobs)})
    save_result(cache_dir, key, frame)
    logger.info("resolved %d references of %d queries", int(frame["status"].notna().sum()), len(queries))
    return frame


def _reference_rows(queries: list[BiQuery], extractions: list[Extraction],
                    settings: Mapping[str | None, SourceSettings], relations: list[Relation],
                    used_definitions: Mapping[str, Mapping[str, str]] | None = None) -> pd.DataFrame:
    """One row per reference (or per unparsed / read-nothing query), in COLUMNS order."""
    indexes: dict[str, RelationIndex] = {}
    databases = {r.unique_id: (r.database or "").lower() for r in relations}
    # per data source: id(read) -> (read, row part, warehouse_status); cached reads are shared records, so ids repeat
    resolved: dict[str | None, dict[int, tuple[TableRead, tuple[Any, ...], str | None]]] = {}
    rows: list[tuple[Any, ...]] = []  # in COLUMNS order
    for query, extraction in zip(queries, extractions):
        source = settings[query.data_source_id]
        dialect, default_db, search_path = source.dialect, source.default_database, source.search_path
        if dialect not in indexes:
            indexes[dialect] = RelationIndex(relations, dialect)
        index = indexes[dialect]
        memo = resolved.setdefault(query.data_source_id, {})
        head = (query.node_id, query.report_token, query.token, query.data_source_id, dialect,
                extraction.template_path, extraction.parsed)
        tail = (query.name, default_db, extraction.reason if extraction.parsed else None,
                list(extraction.missing_definitions), source.warehouse)
        if not extraction.parsed:
            text = with_definitions(query.raw_query or "", (used_definitions or {}).get(query.node_id))
            mentioned = _reachable(index.mentions(text), source, databases, text)
            reason = extraction.reason or "could not be parsed"
            if not source.warehouse:
                reason += f"; data source {source.label} is not the dbt warehouse: protects nothing"
            rows.append((*head, "", None, None, None, False, "unparsed", mentioned, reason, *tail, None))
        elif not extraction.reads:
            rows.append((*head, "", None, None, None, False, None, [], NO_READS, *tail, None))
        if extraction.parsed and UNREAD_NOTE in (extraction.reason or ""):  # Liquid branches never read
            texts, note = unread_branch_texts(query.raw_query or "", (used_definitions or {}).get(query.node_id),
                                              extraction.reason)
            mentioned = sorted({uid for text in texts for uid in _reachable(index.mentions(text), source, databases,
                                                                              query.raw_query or "")})
            rows.append((*head, "", None, None, None, True, "unparsed", mentioned, note or extraction.reason, *tail,
                         None))
        for read in extraction.reads if extraction.parsed else ():
            known = memo.get(id(read))
            if known is None or known[0] is not read:
                resolution = would = index.resolve(read, default_db, search_path)
                if not source.warehouse:
                    resolution = outside_warehouse(would, source.label)
                known = memo[id(read)] = (read, (read.raw, read.catalog, read.db, read.name, read.conditional,
                                                 resolution.status, list(resolution.candidates), resolution.reason),
                                          None if source.warehouse else would.status)
            rows.append((*head, *known[1], *tail, known[2]))
    return pd.DataFrame.from_records(rows, columns=COLUMNS)


def _reachable(mentioned: Iterable[str], source: SourceSettings, databases: Mapping[str, str],
               text: str) -> list[str]:
    """The mentioned relations an unparsed query of ``source`` could read (conservative).

    None on a data source that is not the warehouse. A relation outside the data source's
    databases (its default database and those its search path names) is reachable only by
    a name qualified with its database, so that name must stand in the text.
    """
    if not source.warehouse:
        return []
    if not source.default_database:
        return list(mentioned)
    home = {source.default_database.strip('"`[]').lower()}
    home |= {e.split(".")[-2].strip('"`[]').lower() for e in source.search_path if e.count(".") >= 1}
    lowered = text.lower()
    return [uid for uid in mentioned
            if not databases.get(uid) or databases[uid] in home or databases[uid] in lowered]


def references(refs: pd.DataFrame) -> pd.DataFrame:
    """The rows that are references (marker rows of queries that read nothing dropped)."""
    return refs[refs["status"].notna()]


def query_paths(refs: pd.DataFrame) -> pd.DataFrame:
    """Queries per template path (plain, rendered, fallback) and whether they parsed."""
    per_query = refs.drop_duplicates("query_node_id")
    table = per_query.groupby(["template_path", "parsed"], dropna=False).size().rename("queries")
    return table.reset_index().sort_values(["template_path", "parsed"], ignore_index=True)


def resolution_summary(refs: pd.DataFrame, queries: pd.DataFrame) -> pd.DataFrame:
    """Per data source: references by status, the resolved share, and a flag when it looks wrongly mapped.

    ``warehouse`` is False for a data source marked not where dbt builds. ``flag`` names
    the suspicion: a warehouse data source with no reference resolved (an app database
    taken for the warehouse, or a wrong default database or search path), or one marked
    not the warehouse whose reads mostly name dbt relations in its database.
    """
    names = dict(zip(queries["data_source_id"].astype(str), queries["data_source_name"]))
    refs = references(refs)
    statuses = ["resolved", *PROBLEM_STATUSES]
    columns = ["data_source_id", "data_source", "warehouse", *statuses, "total", "resolved_share", "flag"]
    if refs.empty:
        return pd.DataFrame(columns=columns)
    refs = refs.assign(data_source_id=refs["data_source_id"].astype(str),
                       warehouse=refs["warehouse"] if "warehouse" in refs.columns else True,
                       would=(refs["warehouse_status"] == "resolved") if "warehouse_status" in refs.columns else False)
    table = refs.pivot_table(index="data_source_id", columns="status", values="query_node_id",
                             aggfunc="count", fill_value=0)
    for status in statuses:
        if status not in table.columns:
            table[status] = 0
    table = table[statuses]
    table["total"] = table.sum(axis=1)
    table["resolved_share"] = (table["resolved"] / table["total"]).round(3)
    grouped = refs.groupby("data_source_id")
    table["warehouse"] = grouped["warehouse"].all().astype(bool)
    table["flag"] = [_flag(source_id, row, int(grouped["would"].sum()[source_id])) for source_id, row in table.iterrows()]
    table.insert(0, "data_source", [names.get(str(i)) for i in table.index])
    table.columns.name = None
    return table.reset_index()[columns]


def _flag(source_id: str, row: pd.Series, would_resolve: int) -> str:
    total = int(row["total"])
    if total < FLAG_MIN_REFS:
        return ""
    if row["warehouse"] and row["resolved"] + row["ambiguous"] == 0:
        return (f"none of {total} references is a dbt relation: if this data source is not where dbt builds, "
                f"set bi.data_sources.{source_id}.warehouse: false; otherwise check its default_database and "
                "search_path")
    if not row["warehouse"] and would_resolve * 2 >= total:
        return (f"marked warehouse: false, yet {would_resolve} of {total} references name dbt relations in its "
                f"database: check bi.data_sources.{source_id}.warehouse")
    return ""


def resolution_rate(refs: pd.DataFrame) -> float:
    refs = references(refs)
    return float((refs["status"] == "resolved").mean()) if len(refs) else 1.0


def problem_refs(refs: pd.DataFrame, reports: pd.DataFrame) -> pd.DataFrame:
    """Ambiguous, external and unparsed references with their query, report and candidates."""
    names = dict(zip(reports["token"], reports["name"]))
    table = refs[refs["status"].isin(PROBLEM_STATUSES)].copy()
    table.insert(0, "report", [names.get(t) for t in table["report_token"]])
    if "query_name" not in table.columns:
        table["query_name"] = None
    table["candidates"] = [", ".join(c) for c in table["candidates"]]  # lists or arrays (read back)
    keep = ["status", "report", "query_name", "raw", "candidates", "reason", "conditional", "report_token",
            "query_token"]
    return table[keep].sort_values(["status", "report_token", "query_token", "raw"], ignore_index=True)
