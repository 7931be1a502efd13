"""dbt project records as the run folder's ``dbt_nodes`` and ``dbt_edges`` frames."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, Sequence

import pandas as pd

from lineage_utils.dbt.artifacts import DbtExposure, DbtNode, DbtProject
from lineage_utils.dbt.semantic import SEMANTIC_KINDS, SemanticNode
from lineage_utils.records import records_frame, row_dicts

EXPOSURE_COLUMNS = {"url": None, "exposure_type": None, "owner_email": None, "label": None, "maturity": None}
"""Columns only exposures fill (empty for the other nodes; ``label`` also for the semantic layer)."""
SEMANTIC_COLUMNS = {"metric_type": None}
"""Columns only semantic-layer nodes fill (metrics: their type)."""
RUN_COLUMNS = ("execution_time", "run_status", "run_completed_at", "test_count", "analysis_count")
"""Columns from run_results.json and the node's tests and analyses."""
NODE_COLUMNS: tuple[str, ...] = (*(f.name for f in fields(DbtNode)), *EXPOSURE_COLUMNS, *SEMANTIC_COLUMNS,
                                  *RUN_COLUMNS)
"""Every column of ``dbt_nodes``, in order."""
_FLAGS = ("time_spine", "access_explicit", "contract_enforced")
"""Boolean columns of models: False on the rows of exposures and the semantic layer."""


def dbt_nodes_frame(project: DbtProject) -> pd.DataFrame:
    """Models, sources, seeds, snapshots, exposures and semantic-layer nodes, one row each, with runtimes."""
    frame = records_frame(project.nodes.values(), DbtNode)
    frame = frame.assign(**EXPOSURE_COLUMNS, **SEMANTIC_COLUMNS)
    other_rows = [_exposure_row(e, list(frame.columns)) for e in project.exposures.values()]
    other_rows += [_semantic_row(n, list(frame.columns)) for n in project.semantic.values()]
    if other_rows:
        frame = pd.concat([frame, pd.DataFrame(other_rows, columns=frame.columns)], ignore_index=True)
    for flag in _FLAGS:
        frame[flag] = frame[flag].fillna(False).astype(bool)
    results = project.run_results
    frame["execution_time"] = [results[u].execution_time if u in results else None for u in frame["unique_id"]]
    frame["run_status"] = [results[u].status if u in results else None for u in frame["unique_id"]]
    frame["run_completed_at"] = [results[u].completed_at if u in results else None for u in frame["unique_id"]]
    frame["test_count"] = [len(t) if isinstance(t, list) else 0 for t in frame["tests"]]
    frame["analysis_count"] = [len(a) if isinstance(a, list) else 0 for a in frame["analyses"]]
    return frame[list(NODE_COLUMNS)].sort_values("unique_id", ignore_index=True)


def _exposure_row(exposure: DbtExposure, columns: Sequence[str]) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in columns}
    row.update(
        unique_id=exposure.unique_id, kind="exposure", name=exposure.name,
        package=exposure.unique_id.split(".")[1], path=exposure.path, tags=list(exposure.tags),
        meta=json.dumps(dict(exposure.meta), sort_keys=True, default=str),
        owner=exposure.owner_name or exposure.owner_email, description="",
        fqn=[], depends_on=list(exposure.depends_on), tests=[], analyses=[],
        url=exposure.url, exposure_type=exposure.type, owner_email=exposure.owner_email,
        label=exposure.label, maturity=exposure.maturity, time_spine=False,
    )
    return row


def _semantic_row(node: SemanticNode, columns: Sequence[str]) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in columns}
    row.update(
        unique_id=node.unique_id, kind=node.kind, name=node.name, package=node.package, path=node.path,
        tags=list(node.tags), meta=json.dumps(dict(node.meta), sort_keys=True, default=str),
        description=node.description, fqn=list(node.fqn), depends_on=list(node.depends_on), tests=[], analyses=[],
        created_at=node.created_at, label=node.label, metric_type=node.metric_type, time_spine=False,
    )
    return row


def read_semantic_nodes(nodes: pd.DataFrame) -> dict[str, SemanticNode]:
    """The semantic-layer rows of ``dbt_nodes`` back as records, by id (``path``: the YAML file declaring each)."""
    if "kind" not in nodes.columns:
        return {}
    out: dict[str, SemanticNode] = {}
    for row in row_dicts(nodes[nodes["kind"].isin(SEMANTIC_KINDS)]):
        meta = row.get("meta")
        created = row.get("created_at")
        out[row["unique_id"]] = SemanticNode(
            unique_id=row["unique_id"], kind=row["kind"], name=str(row.get("name")), package=row.get("package") or "",
            path=row.get("path") or "", label=row.get("label"), description=row.get("description") or "",
            metric_type=row.get("metric_type"), tags=tuple(row.get("tags") or ()),
            meta=json.loads(meta) if isinstance(meta, str) and meta else {}, fqn=tuple(row.get("fqn") or ()),
            depends_on=tuple(row.get("depends_on") or ()),
            created_at=float(created) if isinstance(created, (int, float)) else None)
    return dict(sorted(out.items()))


def dbt_edges_frame(project: DbtProject) -> pd.DataFrame:
    """Edges between graph nodes (upstream -> downstream), provenance dbt, exposure or semantic."""
    rows = []
    for node in project.nodes.values():
        rows += [(up, node.unique_id, "dbt") for up in node.depends_on if up in project.nodes]
    for exposure in project.exposures.values():
        rows += [(up, exposure.unique_id, "exposure") for up in exposure.depends_on
                 if up in project.nodes or up in project.semantic]
    for semantic in project.semantic.values():
        rows += [(up, semantic.unique_id, "semantic") for up in semantic.depends_on
                 if up in project.nodes or up in project.semantic]
    frame = pd.DataFrame(sorted(set(rows)), columns=["source", "target", "provenance"])
    return frame
