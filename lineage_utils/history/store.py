"""The history store: one DuckDB file, written only under a lock, never re-inserting what it holds.

Tables (``SCHEMA``):

* ``runs``: one row per metapipeline run (``run_id``, ``started_at``, ``demo``);
  ``run_counts``: its headline counts, one row per (run, name) — a dict of any names.
* ``invocations``: one row per dbt invocation seen (``invocation_id`` from run_results
  metadata, ``generated_at``, ``dbt_version``, ``command``); ``node_executions``: one row
  per node it executed (``unique_id``, ``status``, ``execution_time``, ``started_at``,
  ``completed_at``). An invocation already stored is skipped whole: rows are keyed by the
  invocation, never by the run that saw it, so the store grows with dbt's runs, not with
  metapipeline's (dbt_artifacts re-inserts every node per run and bloats to millions).
* ``cleanups``: merged cleanup pull requests (``merged_at``), marked on the trend charts.

Every connection is opened under ``<store>.lock`` (``filelock``): DuckDB lets one process
write a file at a time, so two runs appending at once take turns and both rows are kept.
Timestamps are naive UTC.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import duckdb
import pandas as pd
from filelock import FileLock, Timeout

from lineage_utils.errors import ArtifactError
from lineage_utils.history.invocations import Invocation, read_invocation, utc_naive

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
LOCK_TIMEOUT_S = 120.0
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS store_info (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
    "CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP NOT NULL,"
    " demo BOOLEAN NOT NULL, recorded_at TIMESTAMP NOT NULL)",
    "CREATE TABLE IF NOT EXISTS run_counts (run_id VARCHAR NOT NULL, name VARCHAR NOT NULL,"
    " value BIGINT NOT NULL, PRIMARY KEY (run_id, name))",
    "CREATE TABLE IF NOT EXISTS invocations (invocation_id VARCHAR PRIMARY KEY, generated_at TIMESTAMP,"
    " dbt_version VARCHAR, command VARCHAR, elapsed_time DOUBLE, nodes INTEGER NOT NULL, demo BOOLEAN NOT NULL,"
    " source VARCHAR NOT NULL, stored_at TIMESTAMP NOT NULL)",
    "CREATE TABLE IF NOT EXISTS node_executions (invocation_id VARCHAR NOT NULL, unique_id VARCHAR NOT NULL,"
    " status VARCHAR NOT NULL, execution_time DOUBLE NOT NULL, started_at TIMESTAMP, completed_at TIMESTAMP,"
    " PRIMARY KEY (invocation_id, unique_id))",
    "CREATE TABLE IF NOT EXISTS cleanups (pull_request VARCHAR PRIMARY KEY, title VARCHAR NOT NULL,"
    " merged_at TIMESTAMP NOT NULL, demo BOOLEAN NOT NULL)",
)
NODE_COLUMNS = ("invocation_id", "unique_id", "status", "execution_time", "started_at", "completed_at")


@dataclass(frozen=True)
class CleanupMerge:
    """A cleanup pull request and when it was merged (naive UTC)."""

    pull_request: str
    """Its URL, or ``#<number>``: the key, so recording it twice stores it once."""
    title: str
    merged_at: datetime
    demo: bool = False


@dataclass(frozen=True)
class Stored:
    """What one write added, and the invocations it skipped because they were stored already."""

    added: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    nodes: int = 0
    cleanups: int = 0
    runs: tuple[str, ...] = field(default=())


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


@contextmanager
def open_store(store: Path | str, timeout: float = LOCK_TIMEOUT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the store (created with its tables if new), held under the store's lock."""
    store = Path(store)
    store.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(store)), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise ArtifactError(f"{store}: history store still locked by another run after {timeout:.0f}s "
                            f"(lock file {lock_path(store)})") from None
    try:
        try:
            conn = duckdb.connect(str(store))
        except duckdb.Error as exc:
            raise ArtifactError(f"{store}: not a usable history store (DuckDB): {exc}") from None
        try:
            for statement in SCHEMA:
                conn.execute(statement)
            conn.execute("INSERT OR IGNORE INTO store_info VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
            yield conn
        finally:
            conn.close()
    finally:
        lock.release()


def stored_ids(conn: duckdb.DuckDBPyConnection, ids: Iterable[str]) -> set[str]:
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    rows = conn.execute("SELECT invocation_id FROM invocations WHERE invocation_id IN (SELECT unnest(?))",
                        [wanted]).fetchall()
    return {row[0] for row in rows}


def insert_invocations(conn: duckdb.DuckDBPyConnection, invocations: Iterable[tuple[Invocation, str]],
                       now: datetime) -> Stored:
    """Store each (invocation, source) not stored yet; call inside a transaction."""
    batch = list(invocations)
    known = stored_ids(conn, (inv.invocation_id for inv, _ in batch))
    added: list[str] = []
    skipped: list[str] = []
    rows: list[tuple[object, ...]] = []
    for inv, source in batch:
        if inv.invocation_id in known:
            skipped.append(inv.invocation_id)
            continue
        known.add(inv.invocation_id)
        added.append(inv.invocation_id)
        conn.execute("INSERT INTO invocations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [inv.invocation_id, inv.generated_at, inv.dbt_version, inv.command, inv.elapsed_time,
                      len(inv.nodes), inv.demo, source, now])
        rows.extend((inv.invocation_id, n.unique_id, n.status, n.execution_time, n.started_at, n.completed_at)
                    for n in inv.nodes)
    if rows:
        frame = pd.DataFrame(rows, columns=list(NODE_COLUMNS))
        for column in ("started_at", "completed_at"):
            frame[column] = pd.to_datetime(frame[column])
        conn.register("new_nodes", frame)
        conn.execute(f"INSERT INTO node_executions SELECT {', '.join(NODE_COLUMNS)} FROM new_nodes")
        conn.unregister("new_nodes")
    return Stored(added=tuple(added), skipped=tuple(skipped), nodes=len(rows))


def insert_cleanups(conn: duckdb.DuckDBPyConnection, cleanups: Iterable[CleanupMerge]) -> int:
    """Store the cleanup merges not stored yet (keyed by pull request); how many were new."""
    added = 0
    for merge in cleanups:
        if conn.execute("SELECT 1 FROM cleanups WHERE pull_request = ?", [merge.pull_request]).fetchone():
            continue
        conn.execute("INSERT INTO cleanups VALUES (?, ?, ?, ?)",
                     [merge.pull_request, merge.title, utc_naive(merge.merged_at.isoformat()), merge.demo])
        added += 1
    return added


def insert_run(conn: duckdb.DuckDBPyConnection, run_id: str, started_at: datetime, counts: Mapping[str, int],
               demo: bool, now: datetime) -> None:
    """One metapipeline run and its headline counts; a run recorded again (a resumed run) gets the new counts."""
    bad = sorted(name for name, value in counts.items() if isinstance(value, bool) or not isinstance(value, int))
    if bad:
        raise ValueError(f"run {run_id}: headline counts must be whole numbers: {', '.join(bad)}")
    conn.execute("DELETE FROM run_counts WHERE run_id = ?", [run_id])
    conn.execute("DELETE FROM runs WHERE run_id = ?", [run_id])
    conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?)", [run_id, utc_naive(started_at.isoformat()), demo, now])
    for name, value in sorted(counts.items()):
        conn.execute("INSERT INTO run_counts VALUES (?, ?, ?)", [run_id, str(name), int(value)])


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def append_run(store: Path | str, run_id: str, started_at: datetime, counts: Mapping[str, int],
               run_results: Iterable[Path | Invocation] = (), cleanups: Iterable[CleanupMerge] = (),
               demo: bool = False) -> Stored:
    """Record one metapipeline run: its headline counts, the dbt invocations it saw, cleanups merged.

    ``run_results`` are run_results.json paths (or invocations already read); each is
    read before the lock is taken, and one already in the store is skipped, so a run
    that sees the same dbt run as the last one adds one ``runs`` row and its counts only.
    """
    invocations = [(item, f"run {run_id}") if isinstance(item, Invocation) else (read_invocation(item), str(item))
                   for item in run_results]
    merges = list(cleanups)
    with open_store(store) as conn:
        now = utc_now()
        conn.execute("BEGIN TRANSACTION")
        try:
            insert_run(conn, run_id, started_at, counts, demo, now)
            result = insert_invocations(conn, invocations, now)
            added_cleanups = insert_cleanups(conn, merges)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    logger.info("history %s: run %s, %d invocations added, %d already stored", store, run_id,
                len(result.added), len(result.skipped))
    return Stored(added=result.added, skipped=result.skipped, nodes=result.nodes, cleanups=added_cleanups,
                  runs=(run_id,))
