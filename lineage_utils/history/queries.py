"""The questions the trend charts ask of the store, each answered as a DataFrame.

Each function takes the store's path; a store that does not exist yet answers with an
empty frame of the same columns (and is not created). Days are UTC calendar days of a
node's ``completed_at`` (else its start, else the invocation's ``generated_at``);
skipped nodes did not run and are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from lineage_utils.history.store import open_store

HEADLINE_COUNTS = ("models", "orphans", "stale_reports")

_EXECUTED = """
    SELECT n.*, i.demo, CAST(COALESCE(n.completed_at, n.started_at, i.generated_at) AS DATE) AS day
    FROM node_executions n JOIN invocations i USING (invocation_id)
    WHERE n.status <> 'skipped'
"""
MODELS_PER_DAY = f"""
    SELECT day, COUNT(DISTINCT unique_id) AS models, COUNT(DISTINCT invocation_id) AS invocations, bool_or(demo) AS demo
    FROM ({_EXECUTED}) WHERE unique_id LIKE 'model.%' GROUP BY day ORDER BY day
"""
RUNTIME_PER_DAY = """
    SELECT day, SUM(node_s) AS node_seconds, SUM(elapsed_time) AS elapsed_seconds, COUNT(*) AS invocations,
           bool_or(demo) AS demo
    FROM (SELECT i.invocation_id, i.elapsed_time, i.demo,
                 CAST(COALESCE(MAX(n.completed_at), i.generated_at) AS DATE) AS day,
                 COALESCE(SUM(n.execution_time), 0) AS node_s
          FROM invocations i LEFT JOIN node_executions n ON n.invocation_id = i.invocation_id AND n.status <> 'skipped'
          GROUP BY i.invocation_id, i.elapsed_time, i.demo, i.generated_at)
    WHERE day IS NOT NULL GROUP BY day ORDER BY day
"""
MEDIAN_EXECUTION_TIME = f"""
    SELECT unique_id, COUNT(*) AS executions, MEDIAN(execution_time) AS median_seconds,
           MAX(execution_time) AS max_seconds, MAX(day) AS last_day
    FROM ({_EXECUTED}) GROUP BY unique_id ORDER BY median_seconds DESC, unique_id
"""
RUNS = """
    SELECT r.run_id, r.started_at, r.demo, c.name, c.value
    FROM runs r LEFT JOIN run_counts c USING (run_id) ORDER BY r.started_at, r.run_id, c.name
"""
CLEANUPS = "SELECT merged_at, pull_request, title, demo FROM cleanups ORDER BY merged_at, pull_request"

_COLUMNS = {
    MODELS_PER_DAY: ["day", "models", "invocations", "demo"],
    RUNTIME_PER_DAY: ["day", "node_seconds", "elapsed_seconds", "invocations", "demo"],
    MEDIAN_EXECUTION_TIME: ["unique_id", "executions", "median_seconds", "max_seconds", "last_day"],
    RUNS: ["run_id", "started_at", "demo", "name", "value"],
    CLEANUPS: ["merged_at", "pull_request", "title", "demo"],
}


def _query(store: Path | str, sql: str) -> pd.DataFrame:
    if not Path(store).is_file():
        return pd.DataFrame(columns=_COLUMNS[sql])
    with open_store(store) as conn:
        return _typed(conn.execute(sql).df())


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("day", "last_day"):
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column])
    return frame


def models_per_day(store: Path | str) -> pd.DataFrame:
    """Distinct models executed per day: ``day``, ``models``, ``invocations``, ``demo``."""
    return _query(store, MODELS_PER_DAY)


def runtime_per_day(store: Path | str) -> pd.DataFrame:
    """Per day: ``node_seconds`` (summed node execution times), ``elapsed_seconds`` (wall clock), ``invocations``."""
    return _query(store, RUNTIME_PER_DAY)


def median_execution_time(store: Path | str) -> pd.DataFrame:
    """Per node over the whole store: ``executions``, ``median_seconds``, ``max_seconds``, ``last_day``; slowest first."""
    return _query(store, MEDIAN_EXECUTION_TIME)


def run_counts(store: Path | str, names: Sequence[str] = HEADLINE_COUNTS) -> pd.DataFrame:
    """One row per metapipeline run: ``run_id``, ``started_at``, ``demo``, then one column per count in ``names``
    (missing counts are NA)."""
    long = _query(store, RUNS)
    wide = long[["run_id", "started_at", "demo"]].drop_duplicates("run_id").reset_index(drop=True)
    for name in names:
        values = long[long["name"] == name].set_index("run_id")["value"]
        wide[name] = wide["run_id"].map(values).astype("Int64")
    return wide


def cleanup_merges(store: Path | str) -> pd.DataFrame:
    """Merged cleanup pull requests: ``merged_at``, ``pull_request``, ``title``, ``demo``."""
    return _query(store, CLEANUPS)


@dataclass(frozen=True)
class Trends:
    """Every chart's frame, read in one go (what a notebook section passes to ``publish.trends``)."""

    models_per_day: pd.DataFrame
    runtime_per_day: pd.DataFrame
    runs: pd.DataFrame
    cleanups: pd.DataFrame
    median_execution_time: pd.DataFrame

    @property
    def empty(self) -> bool:
        return self.runs.empty and self.models_per_day.empty

    @property
    def demo(self) -> bool:
        """Any of it generated demo data (the charts say so in their titles)."""
        return any(bool(frame["demo"].fillna(False).any()) for frame in (self.models_per_day, self.runs)
                   if "demo" in frame.columns and len(frame))


def read_trends(store: Path | str) -> Trends:
    return Trends(models_per_day=models_per_day(store), runtime_per_day=runtime_per_day(store),
                  runs=run_counts(store), cleanups=cleanup_merges(store),
                  median_execution_time=median_execution_time(store))
