"""The attributes of ``lineage.json``, declared once, with a schema version.

Every node kind and every edge provenance has one declared set of attributes; the
graph builder writes exactly these (``ReportAttrs``, ``QueryAttrs``, the ``dbt_nodes``
columns plus ``DbtDecision``) and ``check_node_link`` refuses a file that has other
ones, naming the node or edge and the attribute. Bump ``LINEAGE_SCHEMA_VERSION``
when a set changes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

from lineage_utils.dbt.frames import NODE_COLUMNS
from lineage_utils.dbt.semantic import SEMANTIC_KINDS
from lineage_utils.errors import ArtifactError

LINEAGE_SCHEMA_VERSION = 4

# 3: also the dbt semantic layer (kinds semantic_model, metric, saved_query; provenance
# semantic; dbt node attributes time_spine and metric_type).
# 4: dbt node decision ``generated`` (an exposure of metapipeline's generated file).
DBT_KINDS = ("model", "source", "seed", "snapshot", "exposure", *SEMANTIC_KINDS)
EDGE_PROVENANCES = ("dbt", "exposure", "semantic", "sql", "bi", "dataset")


@dataclass(frozen=True)
class ReportAttrs:
    """A BI report or dataset node; staleness is decided when the graph is built."""

    kind: str
    name: str
    token: str
    report_type: str
    space_token: str | None
    archived: bool
    stale: bool
    stale_rules: list[str]
    stale_evidence: str | None
    active: bool
    view_count: int
    runs_count: int
    schedules_count: int
    last_run_at: str | None
    created_at: str | None
    creator: str | None
    web_url: str | None


@dataclass(frozen=True)
class QueryAttrs:
    kind: str
    name: str
    token: str
    report_token: str
    data_source_id: str | None


@dataclass(frozen=True)
class DbtDecision:
    """What 02_merge decides about a dbt node, stored for every later stage.

    ``consumer`` says why a person looks at it (None: nobody does directly);
    ``orphan`` models have no path to a consumer; ``kept_alive_by`` names the kinds of
    link without which a live model would be an orphan (where that link is the semantic
    layer: the nodes of it that need the model, ``metric:<name>``, ``saved_query:<name>``,
    ``time_spine``). ``age_days`` and ``age`` are
    the model file's git age at the run's ``now`` (None: not judged; ``age_days`` None
    with an ``age`` text: unknown, and why). ``generated`` marks an exposure of
    metapipeline's generated file (``exposures.path``): no consumer, its report decides.
    """

    consumer: str | None = None
    orphan: bool = False
    generated: bool = False
    kept_alive_by: tuple[str, ...] = ()
    age_days: int | None = None
    age: str | None = None


@dataclass(frozen=True)
class SqlEdgeAttrs:
    provenance: str
    refs: list[str]
    status: str
    conditional: bool


def _names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


_DBT_OMITTED = frozenset({"unique_id", "depends_on", "tests", "analyses"})
DBT_ATTRS: frozenset[str] = frozenset(c for c in NODE_COLUMNS if c not in _DBT_OMITTED) | _names(DbtDecision)

NODE_ATTRS: Mapping[str, frozenset[str]] = {
    **{kind: DBT_ATTRS for kind in DBT_KINDS},
    "bi_report": _names(ReportAttrs),
    "bi_query": _names(QueryAttrs),
}
"""Node kind -> its attributes (exactly these)."""

EDGE_ATTRS: Mapping[str, frozenset[str]] = {
    **{p: frozenset({"provenance"}) for p in EDGE_PROVENANCES if p != "sql"},
    "sql": _names(SqlEdgeAttrs),
}
"""Edge provenance -> its attributes (exactly these)."""


def _check_attrs(what: str, attrs: Mapping[str, Any], expected: frozenset[str], origin: str) -> None:
    keys = set(attrs)
    missing, unknown = sorted(expected - keys), sorted(keys - expected)
    if missing:
        raise ArtifactError(f"{origin}: {what} lacks attribute '{missing[0]}' (lineage schema {LINEAGE_SCHEMA_VERSION})")
    if unknown:
        raise ArtifactError(f"{origin}: {what} has unknown attribute '{unknown[0]}' "
                            f"(lineage schema {LINEAGE_SCHEMA_VERSION})")


_NODE_KEYS = {kind: attrs | {"id"} for kind, attrs in NODE_ATTRS.items()}
_EDGE_KEYS = {provenance: attrs | {"source", "target"} for provenance, attrs in EDGE_ATTRS.items()}


def check_node_link(data: Mapping[str, Any], origin: str = "lineage.json") -> None:
    """Refuse a node-link document that is not of this schema; name what is at fault.

    Each node's and edge's keys are compared as one set first (in C); only one that
    differs is taken apart to name the missing or unknown attribute.
    """
    version = (data.get("graph") or {}).get("lineage_schema")
    if version != LINEAGE_SCHEMA_VERSION:
        raise ArtifactError(f"{origin}: lineage schema {version!r}, expected {LINEAGE_SCHEMA_VERSION} "
                            "(re-run 02_merge)")
    for key in ("nodes", "edges"):
        if not isinstance(data.get(key), list):
            raise ArtifactError(f"{origin}: '{key}' is {type(data.get(key)).__name__}, not a list")
        if not all(isinstance(item, dict) for item in data[key]):
            raise ArtifactError(f"{origin}: '{key}' holds an entry that is not an object")
    for node in data["nodes"]:
        kind = node.get("kind")
        if kind not in NODE_ATTRS:
            raise ArtifactError(f"{origin}: node {node.get('id')!r} has unknown kind {kind!r}")
        if node.keys() != _NODE_KEYS[kind]:
            _check_attrs(f"node {node.get('id')!r}", {k: v for k, v in node.items() if k != "id"},
                         NODE_ATTRS[kind], origin)
    for edge in data["edges"]:
        provenance = edge.get("provenance")
        if provenance not in EDGE_ATTRS:
            raise ArtifactError(f"{origin}: edge {edge.get('source')!r} -> {edge.get('target')!r} "
                                f"has unknown provenance {provenance!r}")
        if edge.keys() != _EDGE_KEYS[provenance]:
            _check_attrs(f"edge {edge.get('source')!r} -> {edge.get('target')!r}",
                         {k: v for k, v in edge.items() if k not in ("source", "target")},
                         EDGE_ATTRS[provenance], origin)
