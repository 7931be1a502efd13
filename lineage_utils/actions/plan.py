"""Planning: stored decisions in, action records and a reviewable patch out (pure but the patch).

``plan_actions`` turns the stale reports and orphan models 02_merge decided into dry-run
:class:`Action` records; ``cleanup_patch`` renders the deletion of the orphans' files as
one unified diff for review (it reads the model files, never writes them).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Iterable

from lineage_utils.actions.records import Action
from lineage_utils.bi.hal import report_node_id
from lineage_utils.lineage.orphans import Orphan
from lineage_utils.lineage.staleness import StaleReport


def plan_actions(stale: Iterable[StaleReport], orphans: Iterable[Orphan], run_id: str) -> list[Action]:
    """Dry-run actions: archive each stale report, delete each orphan model."""
    actions = [
        Action(action="archive_report", target=report_node_id(s.token), name=s.name, evidence=s.evidence,
               mode="dry_run", result="planned", run_id=run_id, rules=tuple(s.rules))
        for s in stale
    ]
    actions += [
        Action(action="delete_model", target=o.unique_id, name=o.name, evidence=o.evidence, mode="dry_run",
               result="planned", run_id=run_id, path=o.path, reason=o.reason)
        for o in orphans
    ]
    return actions


def cleanup_patch(project_dir: Path | None, orphans: Iterable[Orphan]) -> str:
    """A unified diff that deletes the orphan models' SQL files (for review, not applied)."""
    if project_dir is None:
        return ""
    chunks = []
    for orphan in orphans:
        if not orphan.path:
            continue
        source = project_dir / orphan.path
        if not source.is_file():
            continue
        lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
        chunks.append(f"diff --git a/{orphan.path} b/{orphan.path}\ndeleted file mode 100644\n")
        chunks.extend(difflib.unified_diff(lines, [], f"a/{orphan.path}", "/dev/null"))
    return "".join(chunks)
