"""BI snapshot records as the run folder's ``reports`` and ``queries`` frames."""

from __future__ import annotations

import pandas as pd

from lineage_utils.bi.snapshot import BiQuery, BiReport, BiSnapshot
from lineage_utils.records import records_frame

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
