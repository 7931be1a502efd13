"""Records <-> data frames for the run folder's parquet contracts.

Columns derive from ``dataclasses.fields`` (never a hand-kept list). Mappings are
stored as canonical JSON text, tuples as lists, timestamps as UTC timestamps.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from lineage_utils.bi.snapshot import BiQuery, BiReport, BiSnapshot
from lineage_utils.dbt.artifacts import DbtExposure, DbtNode, DbtProject


EXPOSURE_COLUMNS = {"url": None, "exposure_type": None, "owner_email": None, "label": None, "maturity": None}


def _cell(value: Any) -> Any:
    if isinstance(value, Mapping):
        return json.dumps(dict(value), sort_keys=True, default=str)
    if isinstance(value, tuple):
        return list(value)
    return value


def records_frame(records: Iterable[Any], cls: type) -> pd.DataFrame:
    """A frame with one column per dataclass field, in declaration order."""
    names = [f.name for f in fields(cls)]
    rows = [{name: _cell(getattr(r, name)) for name in names} for r in records]
    return pd.DataFrame(rows, columns=names)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return value is pd.NaT


def plain(value: Any) -> Any:
    """A frame cell back to a plain Python value (NaN/NaT -> None, arrays -> tuples)."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, pd.Timestamp):
        return None if value is pd.NaT else value.to_pydatetime()
    if _missing(value):
        return None
    return value


def row_dicts(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]



# -- BI ------------------------------------------------------------------------------
def reports_frame(snapshot: BiSnapshot) -> pd.DataFrame:
    frame = records_frame(snapshot.reports.values(), BiReport)
    spaces = snapshot.spaces
    frame["space_name"] = [spaces[t].name if t in spaces else None for t in frame["space_token"]]
    frame["space_type"] = [spaces[t].space_type if t in spaces else None for t in frame["space_token"]]
    for column in ("created_at", "updated_at", "edited_at", "last_saved_at", "last_run_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def queries_frame(snapshot: BiSnapshot) -> pd.DataFrame:
    frame = records_frame(snapshot.queries, BiQuery)
    frame.insert(0, "node_id", [q.node_id for q in snapshot.queries])
    sources = snapshot.data_sources
    frame["data_source_name"] = [sources[s].name if s in sources else None for s in frame["data_source_id"]]
    frame["adapter"] = [sources[s].adapter if s in sources else None for s in frame["data_source_id"]]
    for column in ("created_at", "updated_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


# -- dbt -----------------------------------------------------------------------------
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
    return frame.sort_values("unique_id", ignore_index=True)


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

