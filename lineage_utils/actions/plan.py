"""Planning: stored decisions in, action records and a reviewable patch out (pure but the patch).

``plan_actions`` turns the stale reports and orphan models 02_merge decided into dry-run
:class:`Action` records; ``cleanup_patch`` renders the deletion of the orphans' files as
one unified diff for review (it reads the model files, never writes them).

A model's path comes from the manifest (``original_file_path``), which is outside
text: a path that leaves the dbt project (``..``, absolute, a symlink that leads out,
control characters) is refused, never read, and its deletion is planned as refused.
"""

from __future__ import annotations

import difflib
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Iterable

from lineage_utils.actions.records import Action
from lineage_utils.bi.hal import report_node_id
from lineage_utils.lineage.orphans import Orphan
from lineage_utils.lineage.staleness import StaleReport


def refused_path(project_dir: Path, path: str) -> str | None:
    """Why ``path`` (relative to the dbt project) may not be read or deleted, or None when it may.

    Refused: an absolute path, a ``..`` part, control characters, and a path whose real
    location (symlinks followed) is not inside the project's real location.
    """
    if not path.isprintable():
        return "the path contains control characters"
    if PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute() or PureWindowsPath(path).drive:
        return "the path is absolute"
    if ".." in PurePosixPath(path.replace("\\", "/")).parts:
        return "the path climbs out of the dbt project ('..')"
    root = project_dir.resolve()
    try:
        real = (root / path).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        return f"the path cannot be resolved ({exc.__class__.__name__})"
    if not real.is_relative_to(root):
        return "the path leads out of the dbt project through a symlink"
    return None


def _refusal(orphan: Orphan, why: str, run_id: str) -> Action:
    return Action(action="delete_model", target=orphan.unique_id, name=orphan.name,
                  evidence=f"original_file_path {orphan.path!r} refused: {why}; the file was not read",
                  mode="dry_run", result="refused", run_id=run_id, path=orphan.path, reason="path_outside_project")


def plan_actions(stale: Iterable[StaleReport], orphans: Iterable[Orphan], run_id: str,
                 project_dir: Path | None = None) -> list[Action]:
    """Dry-run actions: archive each stale report, delete each orphan model.

    With ``project_dir``, an orphan whose path is refused (``refused_path``) gets a
    ``refused`` deletion naming the node and the path instead of a planned one.
    """
    actions = [
        Action(action="archive_report", target=report_node_id(s.token), name=s.name, evidence=s.evidence,
               mode="dry_run", result="planned", run_id=run_id, rules=tuple(s.rules))
        for s in stale
    ]
    for o in orphans:
        why = refused_path(project_dir, o.path) if project_dir is not None and o.path else None
        actions.append(_refusal(o, why, run_id) if why else
                       Action(action="delete_model", target=o.unique_id, name=o.name, evidence=o.evidence,
                              mode="dry_run", result="planned", run_id=run_id, path=o.path, reason=o.reason))
    return actions


def cleanup_patch(project_dir: Path | None, orphans: Iterable[Orphan]) -> str:
    """A unified diff that deletes the orphan models' SQL files (for review, not applied).

    A refused path (``refused_path``) is left out and never read.
    """
    if project_dir is None:
        return ""
    chunks = []
    for orphan in orphans:
        if not orphan.path or refused_path(project_dir, orphan.path):
            continue
        source = project_dir.resolve() / orphan.path
        if not source.is_file():
            continue
        lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
        chunks.append(f"diff --git a/{orphan.path} b/{orphan.path}\ndeleted file mode 100644\n")
        chunks.extend(difflib.unified_diff(lines, [], f"a/{orphan.path}", "/dev/null"))
    return "".join(chunks)
