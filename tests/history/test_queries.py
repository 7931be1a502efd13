"""history.queries on a small hand-made history."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from lineage_utils.history import queries
from lineage_utils.history.importer import import_folder
from lineage_utils.history.store import CleanupMerge, append_run
from tests.history.builders import write_run_results


@pytest.fixture
def small_store(tmp_path):
    archive = tmp_path / "archive"
    write_run_results(archive / "a.json", "inv-a", "2026-10-01",
                      [("model.p.a", "success", 2.0), ("model.p.b", "success", 4.0), ("seed.p.s", "success", 1.0)],
                      elapsed=8.0)
    write_run_results(archive / "b.json", "inv-b", "2026-10-01", [("model.p.a", "success", 4.0)], elapsed=5.0)
    write_run_results(archive / "c.json", "inv-c", "2026-10-02",
                      [("model.p.a", "error", 6.0), ("model.p.b", "skipped", 0.0)], elapsed=None)
    store = tmp_path / "history.duckdb"
    import_folder(store, archive)
    append_run(store, "run-1", datetime(2026, 10, 1, 6), {"models": 2, "orphans": 1, "stale_reports": 3})
    append_run(store, "run-2", datetime(2026, 10, 2, 6), {"models": 1, "exposures": 4},
               cleanups=[CleanupMerge("#7", "cleanup", datetime(2026, 10, 1, 12))])
    return store


def test_models_per_day_counts_distinct_models_that_ran(small_store):
    frame = queries.models_per_day(small_store)
    assert frame["day"].tolist() == [pd.Timestamp("2026-10-01"), pd.Timestamp("2026-10-02")]
    assert frame["models"].tolist() == [2, 1]  # the seed is not a model; a skipped model did not run
    assert frame["invocations"].tolist() == [2, 1]


def test_runtime_per_day_sums_node_and_wall_clock_time(small_store):
    frame = queries.runtime_per_day(small_store)
    assert frame["node_seconds"].tolist() == [11.0, 6.0]
    assert frame["elapsed_seconds"].iloc[0] == 13.0 and pd.isna(frame["elapsed_seconds"].iloc[1])


def test_median_execution_time_per_node_slowest_first(small_store):
    frame = queries.median_execution_time(small_store).set_index("unique_id")
    assert frame.loc["model.p.a", ["executions", "median_seconds", "max_seconds"]].tolist() == [3, 4.0, 6.0]
    assert frame.index[0] == "model.p.a" and "model.p.b" in frame.index
    assert frame.loc["model.p.b", "executions"] == 1  # its skipped execution is not counted


def test_run_counts_one_row_per_run_missing_counts_are_na(small_store):
    frame = queries.run_counts(small_store)
    assert frame["run_id"].tolist() == ["run-1", "run-2"]
    assert frame["models"].tolist() == [2, 1]
    assert frame["orphans"].iloc[0] == 1 and pd.isna(frame["orphans"].iloc[1])
    assert queries.run_counts(small_store, names=("exposures",))["exposures"].iloc[1] == 4


def test_cleanup_merges(small_store):
    frame = queries.cleanup_merges(small_store)
    assert frame[["pull_request", "merged_at"]].values.tolist() == [["#7", pd.Timestamp("2026-10-01 12:00")]]


def test_a_store_not_made_yet_answers_empty_frames_and_is_not_created(tmp_path):
    store = tmp_path / "history.duckdb"
    trends = queries.read_trends(store)
    assert trends.empty and not trends.demo
    assert list(trends.models_per_day.columns) == ["day", "models", "invocations", "demo"]
    assert list(trends.runs.columns) == ["run_id", "started_at", "demo", "models", "orphans", "stale_reports"]
    assert not store.exists()
