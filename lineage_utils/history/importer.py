"""Import a folder of archived dbt run_results files (and history seeds) into the store.

Every ``*.json`` and ``*.json.gz`` under the folder, recursively, in path order, is one of:

* a dbt ``run_results.json``: its invocation is added, or skipped if already stored;
* another dbt artifact (manifest, catalog, sources): skipped, named with its kind;
* a history seed (a top-level ``"metapipeline_history": 1`` key, see :func:`parse_seed`):
  metapipeline runs with their headline counts and merged cleanups, e.g. the generated
  demo history (``demo/history/``);
* anything else, or a file that cannot be read: bad, named with the reason; the other
  files are still imported.

Files are read before the store's lock is taken; all additions go in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from lineage_utils.dbt.artifacts import read_artifact
from lineage_utils.dbt.shapes import get_list, get_object, get_text
from lineage_utils.errors import ArtifactError
from lineage_utils.history.invocations import Invocation, parse_invocation, utc_naive
from lineage_utils.history.store import (CleanupMerge, insert_cleanups, insert_invocations, insert_run, open_store,
                                         utc_now)

logger = logging.getLogger(__name__)

SEED_KEY = "metapipeline_history"
OTHER_ARTIFACTS = ("manifest", "catalog", "sources", "semantic_manifest")


@dataclass(frozen=True)
class SeedRun:
    run_id: str
    started_at: datetime
    counts: Mapping[str, int]
    demo: bool


@dataclass(frozen=True)
class Seed:
    """A history seed: metapipeline runs and merged cleanups from before (or outside) this store."""

    runs: tuple[SeedRun, ...]
    cleanups: tuple[CleanupMerge, ...]


@dataclass(frozen=True)
class ImportReport:
    """What an import did, file by file: (path, what) pairs, sorted by path."""

    added: tuple[tuple[str, str], ...]
    skipped: tuple[tuple[str, str], ...]
    bad: tuple[tuple[str, str], ...]

    def lines(self) -> list[str]:
        """One line per file, then a total: what a person running the import reads."""
        out = [f"added   {path}: {what}" for path, what in self.added]
        out += [f"skipped {path}: {what}" for path, what in self.skipped]
        out += [f"BAD     {path}: {what}" for path, what in self.bad]
        out.append(f"{len(self.added)} added, {len(self.skipped)} skipped, {len(self.bad)} bad")
        return out


def _moment(raw: Mapping[str, Any], key: str, path: Path, where: str) -> datetime:
    moment = utc_naive(get_text(raw, key, path, where), f"{path}: {where}")
    if moment is None:
        raise ArtifactError(f"{path}: {where}: no key '{key}'")
    return moment


def parse_seed(data: Mapping[str, Any], path: Path) -> Seed:
    """``{"metapipeline_history": 1, "demo": bool, "runs": [{"run_id", "started_at", "counts": {name: int}}],
    "cleanups": [{"pull_request", "title", "merged_at"}]}``; a wrong shape names the file and entry."""
    if data.get(SEED_KEY) != 1:
        raise ArtifactError(f"{path}: history seed version {data.get(SEED_KEY)!r} is not supported (supported: 1)")
    demo = data.get("demo") is True
    runs = []
    for index, raw in enumerate(get_list(data, "runs", path)):
        where = f"runs[{index}]"
        if not isinstance(raw, Mapping) or not get_text(raw, "run_id", path, where):
            raise ArtifactError(f"{path}: {where}: expected an object with a 'run_id'")
        counts = get_object(raw, "counts", path, where)
        bad = sorted(k for k, v in counts.items() if isinstance(v, bool) or not isinstance(v, int))
        if bad:
            raise ArtifactError(f"{path}: {where}.counts: not whole numbers: {', '.join(bad)}")
        runs.append(SeedRun(str(raw["run_id"]), _moment(raw, "started_at", path, where), dict(counts), demo))
    cleanups = []
    for index, raw in enumerate(get_list(data, "cleanups", path)):
        where = f"cleanups[{index}]"
        if not isinstance(raw, Mapping) or not get_text(raw, "pull_request", path, where):
            raise ArtifactError(f"{path}: {where}: expected an object with a 'pull_request'")
        cleanups.append(CleanupMerge(str(raw["pull_request"]), get_text(raw, "title", path, where) or "cleanup",
                                     _moment(raw, "merged_at", path, where), demo))
    return Seed(runs=tuple(runs), cleanups=tuple(cleanups))


def _artifact_kind(data: Mapping[str, Any], path: Path) -> str | None:
    """The dbt artifact named by ``metadata.dbt_schema_version`` (``run-results``, ``manifest``...), if any."""
    url = get_text(get_object(data, "metadata", path), "dbt_schema_version", path, "metadata") or ""
    parts = url.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 and url.startswith("http") else None


def read_file(path: Path) -> Invocation | Seed | str:
    """The invocation or seed in ``path``, or why the file is skipped; a bad file raises ArtifactError."""
    data = read_artifact(path)
    if SEED_KEY in data:
        return parse_seed(data, path)
    kind = _artifact_kind(data, path)
    if kind in OTHER_ARTIFACTS:
        return f"a dbt {kind} artifact, not run_results"
    return parse_invocation(data, path)


def archive_files(folder: Path) -> list[Path]:
    """Every ``.json`` and ``.json.gz`` file under ``folder``, recursively, sorted (hidden ones too)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith((".json", ".json.gz")))


def import_folder(store: Path | str, folder: Path | str) -> ImportReport:
    """Import every archived run_results (and history seed) under ``folder``; see the module docstring."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtifactError(f"{folder}: folder not found")
    added: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    bad: list[tuple[str, str]] = []
    invocations: list[tuple[Invocation, str]] = []
    seeds: list[tuple[Seed, str]] = []
    for path in archive_files(folder):
        try:
            found = read_file(path)
        except ArtifactError as exc:
            bad.append((str(path), str(exc).removeprefix(f"{path}: ")))
            continue
        if isinstance(found, str):
            skipped.append((str(path), found))
        elif isinstance(found, Seed):
            seeds.append((found, str(path)))
        else:
            invocations.append((found, str(path)))
    with open_store(store) as conn:
        now = utc_now()
        conn.execute("BEGIN TRANSACTION")
        try:
            stored = insert_invocations(conn, invocations, now)
            for seed, source in seeds:
                known = {row[0] for row in conn.execute("SELECT run_id FROM runs").fetchall()}
                for run in seed.runs:
                    insert_run(conn, run.run_id, run.started_at, run.counts, run.demo, now)
                runs = sum(1 for run in seed.runs if run.run_id not in known)
                new = insert_cleanups(conn, seed.cleanups)
                what = f"history seed: {runs} of {len(seed.runs)} metapipeline runs new, {new} cleanups new"
                (added if runs or new else skipped).append((source, what))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    new_ids = set(stored.added)
    for inv, source in invocations:
        if inv.invocation_id in new_ids:
            new_ids.discard(inv.invocation_id)  # a second file with the same id is a duplicate
            added.append((source, f"invocation {inv.invocation_id} ({len(inv.nodes)} nodes)"))
        else:
            skipped.append((source, f"invocation {inv.invocation_id} already stored"))
    logger.info("history import from %s: %d added, %d skipped, %d bad", folder, len(added), len(skipped), len(bad))
    return ImportReport(added=tuple(sorted(added)), skipped=tuple(sorted(skipped)), bad=tuple(sorted(bad)))
