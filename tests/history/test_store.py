"""history.store: appends that never duplicate, and a lock that keeps concurrent runs' rows."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime

import pytest
from filelock import FileLock

from lineage_utils.errors import ArtifactError
from lineage_utils.history.importer import import_folder
from lineage_utils.history.store import CleanupMerge, append_run, lock_path, open_store
from tests.history.builders import table_rows, write_run_results

NODES = [("model.p.a", "success", 1.5), ("model.p.b", "success", 2.5), ("seed.p.s", "success", 0.2)]
STARTED = datetime(2026, 10, 1, 6, 0)


def test_importing_the_same_run_results_twice_adds_nothing(tmp_path):
    write_run_results(tmp_path / "archive" / "run_results.json", "inv-1", "2026-10-01", NODES)
    store = tmp_path / "history.duckdb"
    first = import_folder(store, tmp_path / "archive")
    counts = {t: table_rows(store, t) for t in ("invocations", "node_executions")}
    second = import_folder(store, tmp_path / "archive")
    assert len(first.added) == 1 and counts == {"invocations": 1, "node_executions": 3}
    assert second.added == () and [what for _, what in second.skipped] == ["invocation inv-1 already stored"]
    assert {t: table_rows(store, t) for t in counts} == counts


def test_a_run_seeing_the_last_runs_dbt_invocation_adds_only_its_run_row(tmp_path):
    results = write_run_results(tmp_path / "run_results.json", "inv-1", "2026-10-01", NODES)
    store = tmp_path / "history.duckdb"
    append_run(store, "run-1", STARTED, {"models": 2}, [results])
    again = append_run(store, "run-2", STARTED.replace(day=2), {"models": 2}, [results])
    assert again.added == () and again.skipped == ("inv-1",)
    assert (table_rows(store, "runs"), table_rows(store, "invocations"), table_rows(store, "node_executions")) == (2, 1, 3)


def test_a_resumed_run_replaces_its_counts_instead_of_adding_a_row(tmp_path):
    store = tmp_path / "history.duckdb"
    append_run(store, "run-1", STARTED, {"models": 5, "orphans": 2})
    append_run(store, "run-1", STARTED, {"models": 4})
    with open_store(store) as conn:
        assert conn.execute("SELECT name, value FROM run_counts").fetchall() == [("models", 4)]
    assert table_rows(store, "runs") == 1


def test_counts_must_be_whole_numbers_and_nothing_is_stored_otherwise(tmp_path):
    store = tmp_path / "history.duckdb"
    with pytest.raises(ValueError, match="orphans"):
        append_run(store, "run-1", STARTED, {"models": 5, "orphans": 2.5})
    assert table_rows(store, "runs") == 0


def test_a_cleanup_merge_is_stored_once(tmp_path):
    store = tmp_path / "history.duckdb"
    merge = CleanupMerge("#42", "Remove orphans", datetime(2026, 10, 1, 14, 30))
    assert append_run(store, "run-1", STARTED, {}, cleanups=[merge]).cleanups == 1
    assert append_run(store, "run-2", STARTED, {}, cleanups=[merge]).cleanups == 0
    assert table_rows(store, "cleanups") == 1


def test_a_store_locked_too_long_names_the_lock_file(tmp_path):
    store = tmp_path / "history.duckdb"
    with FileLock(str(lock_path(store))):
        with pytest.raises(ArtifactError, match="history.duckdb.lock"):
            with open_store(store, timeout=0.2):
                pass


def test_a_file_that_is_not_duckdb_is_named(tmp_path):
    store = tmp_path / "history.duckdb"
    store.write_text("not a database")
    with pytest.raises(ArtifactError, match="not a usable history store"):
        append_run(store, "run-1", STARTED, {})


APPENDER = textwrap.dedent("""
    import sys, time
    from datetime import datetime
    from pathlib import Path
    from lineage_utils.history.store import append_run
    from tests.history.builders import write_run_results
    store, name, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    files = [write_run_results(store.parent / name / f"{i}.json", f"{name}-inv-{i}", "2026-10-01",
                               [("model.p.a", "success", 1.0), ("model.p.b", "success", 2.0)]) for i in range(6)]
    while not go.exists():
        time.sleep(0.005)
    for i, path in enumerate(files):
        append_run(store, f"{name}-run-{i}", datetime(2026, 10, 1, 6, i), {"models": 2}, [path])
""")


def test_two_processes_appending_at_once_both_keep_their_rows(tmp_path, repo_root):
    store, go = tmp_path / "history.duckdb", tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, str(store), name, str(go)], cwd=repo_root,
                              stderr=subprocess.PIPE, text=True) for name in ("left", "right")]
    go.touch()
    errors = [proc.communicate(timeout=60)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], errors
    with open_store(store) as conn:
        runs = sorted(row[0] for row in conn.execute("SELECT run_id FROM runs").fetchall())
    assert runs == sorted(f"{name}-run-{i}" for name in ("left", "right") for i in range(6))
    assert (table_rows(store, "invocations"), table_rows(store, "node_executions")) == (12, 24)
