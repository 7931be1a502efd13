"""dbt project records as the run folder's ``dbt_nodes`` and ``dbt_edges`` frames."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, Sequence

import pandas as pd

from lineage_utils.dbt.artifacts import DbtExposure, DbtNode, DbtProject
from lineage_utils.records import records_frame

EXPOSURE_COLUMNS = {"url": None, "exposure_type": None, "owner_email": None, "label": None, "maturity": None}
"""Columns only exposures fill (empty for the other nodes)."""
RUN_COLUMNS = ("execution_time", "run_status", "run_completed_at", "test_count", "analysis_count")
"""Columns from run_results.json and the node's tests and analyses."""
NODE_COLUMNS: tuple[str, ...] = (*(f.name for f in fields(DbtNode)), *EXPOSURE_COLUMNS, *RUN_COLUMNS)
"""Every column of ``dbt_nodes``, in order."""


def dbt_nodes_frame(project: DbtProject) -> pd.DataFrame:
    """Models, sources, seeds, snapshots and exposures, one row each, with runtimes."""
    frame = records_frame(project.nodes.values(), DbtNode)
    frame = frame.assign(**EXPOSURE_COLUMNS)
    exposure_rows = [_exposure_row(e, list(frame.columns)) for e in project.exposures.values()]
    if exposure_rows:
        frame = pd.concat([frame, pd.DataFrame(exposure_rows, columns=frame.columns)], ignore_index=True)
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
        label=exposure.label, maturity=exposure.maturity,
    )
    return row


def dbt_edges_frame(project: DbtProject) -> pd.DataFrame:
    """Edges between graph nodes (upstream -> downstream), provenance dbt or exposure."""
    rows = []
    for node in project.nodes.values():
        rows += [(up, node.unique_id, "dbt") for up in node.depends_on if up in project.nodes]
    for exposure in project.exposures.values():
        rows += [(up, exposure.unique_id, "exposure") for up in exposure.depends_on if up in project.nodes]
    frame = pd.DataFrame(sorted(set(rows)), columns=["source", "target", "provenance"])
    return frame
