"""How old each dbt model file is: the time of the first git commit that added it.

A model's age runs from the first commit that added its file *at its current path*
(``--no-renames``: a rename counts from the rename, so a moved model is young again).
A file in the working tree that no commit has added yet (untracked, or only staged)
is brand new: age 0. Outside a git repository, or without git, the age is unknown
and the record says why. The dbt project may sit anywhere below the repository root.

One ``git log --diff-filter=A --name-only`` pass over the project folder finds every
file's first commit at once (one ``git log`` per file is far too slow on a big
project). Committer time is used: it is when the file landed on the branch (a
rebased or cherry-picked commit lands when it is applied, not when it was written).
Merge commits are not diffed, so a file that only a merge resolution added is taken
as not committed (young), never as old. In a shallow clone the oldest commit is the
clone's boundary, so ages are at most the clone's depth (models look younger, never
older; a warning is logged).

Only this module runs git; an age against a run's ``now`` is pure
(:meth:`FileAge.age_days`, :meth:`FileAge.describe`); the guard itself is in
``lineage.orphans`` (a young model is a consumer).
"""

from __future__ import annotations

import logging
import posixpath
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Literal

from lineage_utils.errors import ArtifactError

logger = logging.getLogger(__name__)

AgeStatus = Literal["committed", "uncommitted", "unknown"]
GIT_TIMEOUT_S = 600
_HEADER = "\x01"


@dataclass(frozen=True)
class FileAge:
    """What git says about one model file (``original_file_path``, relative to the dbt project)."""

    path: str
    status: AgeStatus
    first_committed_at: datetime | None = None
    why_unknown: str | None = None

    def age_days(self, now: datetime) -> int | None:
        """Whole days from the first commit to ``now`` (negative: committed after ``now``); 0 if uncommitted."""
        if self.status == "uncommitted":
            return 0
        if self.first_committed_at is None:
            return None
        return (now - self.first_committed_at).days

    def describe(self, now: datetime) -> str:
        """The age as a person reads it: ``first committed 12 days ago (2026-10-20)``."""
        if self.status == "uncommitted":
            return "not committed yet (new file)"
        days = self.age_days(now)
        if days is None or self.first_committed_at is None:
            return f"unknown ({self.why_unknown or 'no git history'})"
        when = self.first_committed_at.date().isoformat()
        if days < 0:
            return f"first committed {when}, after the run's now ({now.date().isoformat()})"
        return f"first committed {days} day{'' if days == 1 else 's'} ago ({when})"


def _normalise(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/"))


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-c", "log.showSignature=false", "-C", str(cwd), *args],
                          capture_output=True, timeout=GIT_TIMEOUT_S, check=False)


def _error(result: subprocess.CompletedProcess[bytes]) -> str:
    lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else f"exit status {result.returncode}"


def in_git_repository(project_dir: Path) -> bool:
    """Whether ``project_dir`` is inside a git work tree (raises ArtifactError when git itself fails)."""
    result = _git(["rev-parse", "--is-inside-work-tree"], project_dir)
    if result.returncode == 0:
        return result.stdout.strip() == b"true"
    stderr = result.stderr.decode("utf-8", "replace")
    if "not a git repository" in stderr:
        return False
    raise ArtifactError(f"git rev-parse in {project_dir} failed: {_error(result)}")


def first_commit_times(project_dir: Path) -> dict[str, datetime]:
    """Every file under ``project_dir`` that a commit added -> the oldest such commit's time (UTC).

    Paths are relative to ``project_dir``, ``/``-separated. One ``git log`` pass.
    """
    result = _git(["log", "--diff-filter=A", "--no-renames", "--name-only", "-z", f"--format={_HEADER}%ct",
                   "--relative", "--", "."], project_dir)
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", "replace")
        if "does not have any commits" in stderr or "bad default revision" in stderr:
            return {}  # a fresh repository: nothing is committed yet
        raise ArtifactError(f"git log in {project_dir} failed: {_error(result)}")
    firsts: dict[str, int] = {}
    stamp = 0
    for token in result.stdout.split(b"\0"):
        token = token.lstrip(b"\n")
        if not token:
            continue
        if token.startswith(_HEADER.encode()):
            stamp = int(token[1:])
            continue
        path = token.decode("utf-8", "surrogateescape")
        firsts[path] = min(stamp, firsts.get(path, stamp))
    return {path: datetime.fromtimestamp(ts, tz=timezone.utc) for path, ts in firsts.items()}


def _unknown(paths: Iterable[str], why: str) -> dict[str, FileAge]:
    return {p: FileAge(path=p, status="unknown", why_unknown=why) for p in paths}


def file_ages(project_dir: Path | None, paths: Iterable[str]) -> dict[str, FileAge]:
    """``original_file_path`` -> its :class:`FileAge`, for the dbt project in ``project_dir``."""
    paths = sorted({p for p in paths if p})
    if project_dir is None:
        return _unknown(paths, "dbt.project_dir is not set")
    if not project_dir.is_dir():
        return _unknown(paths, f"dbt.project_dir {project_dir} is not a folder")
    if shutil.which("git") is None:
        logger.warning("git is not installed: model ages are unknown, the min_age_days guard is off")
        return _unknown(paths, "git is not installed")
    if not in_git_repository(project_dir):
        return _unknown(paths, "not a git repository")
    if _git(["rev-parse", "--is-shallow-repository"], project_dir).stdout.strip() == b"true":
        logger.warning("%s is a shallow clone: model ages count from the clone's oldest commit at most",
                       project_dir)
    firsts = first_commit_times(project_dir)
    ages: dict[str, FileAge] = {}
    for path in paths:
        first = firsts.get(_normalise(path))
        if first is not None:
            ages[path] = FileAge(path=path, status="committed", first_committed_at=first)
        elif (project_dir / path).is_file():
            ages[path] = FileAge(path=path, status="uncommitted")
        else:
            ages[path] = FileAge(path=path, status="unknown", why_unknown="no such file, and no commit adds it")
    return ages
