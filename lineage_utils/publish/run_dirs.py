"""Run folders on disk: unique ids, safe creation, and the lock that says a run is alive.

A run holds ``<run_dir>/.run.lock`` (an OS file lock, ``filelock``) from before its first
``run.json`` is written until after its last. The operating system releases the lock when
the process ends, however it ends (SIGKILL, power loss of the process, OOM killer), so a
``run.json`` that says ``running`` while nobody holds the lock belongs to a dead run.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from lineage_utils.errors import ParamsError

RUN_LOCK = ".run.lock"
_RUN_ID_FORMAT = "%Y%m%dT%H%M%SZ"


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def new_run_id(now: datetime | None = None, runs_dir: Path | None = None) -> str:
    """A UTC timestamp id such as ``20261125T110356Z``; naive ``now`` is taken as UTC.

    With ``runs_dir``, the id is unique there: ``-2``, ``-3``, ... is appended while a
    folder of that name exists.
    """
    base = _utc(now).strftime(_RUN_ID_FORMAT)
    if runs_dir is None:
        return base
    candidate, n = base, 1
    while (runs_dir / candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def check_runs_dir(runs_dir: Path) -> None:
    """Refuse (ParamsError naming the folder) a runs folder that is a file or cannot be written.

    Checked before anything is created: the nearest existing folder on the way must be a
    writable folder.
    """
    where = f"params key 'run.runs_dir': {runs_dir}"
    probe = runs_dir
    while not probe.exists():
        if probe.is_symlink():
            raise ParamsError(f"{where}: {probe} is a broken symbolic link")
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        what = "is a file" if probe == runs_dir else f"cannot be created: {probe} is a file"
        raise ParamsError(f"{where} {what}, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        what = "is not writable" if probe == runs_dir else f"cannot be created: {probe} is not writable"
        raise ParamsError(f"{where} {what}")


def create_run_dir(runs_dir: Path, now: datetime) -> Path:
    """Create and return a new, unique run folder (safe against concurrent runs)."""
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        while True:
            run_dir = runs_dir / new_run_id(now, runs_dir)
            try:
                run_dir.mkdir()
            except FileExistsError:
                continue
            return run_dir
    except OSError as exc:
        reason = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
        raise ParamsError(f"params key 'run.runs_dir': cannot create a run folder in {runs_dir}: {reason}") from None


@contextmanager
def hold_run_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run's lock for the duration (the process's way of saying "alive")."""
    lock = FileLock(run_dir / RUN_LOCK)
    with lock:
        yield


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process, or a pid we cannot judge: do not call it dead
    return True


@contextmanager
def abandoned(run_dir: Path, pid: int | None = None) -> Iterator[bool]:
    """Yield whether the run in ``run_dir`` is dead; while True, its lock is held by us.

    With a lock file: dead when its lock can be taken at once (no live process holds it);
    the caller may then rewrite the record without racing the run. Without one (a run of an
    older version): dead only when ``pid`` is given and no such process exists.
    """
    path = run_dir / RUN_LOCK
    if not path.is_file():
        yield pid is not None and not _pid_alive(pid)
        return
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except (Timeout, OSError):
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
