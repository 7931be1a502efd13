"""Planning: stored decisions in, action records and a reviewable patch out (pure but the patch).

``plan_actions`` turns the stale reports and orphan models 02_merge decided into dry-run
:class:`Action` records; ``cleanup_patch`` renders the deletion of the orphans as one
unified diff for review: their files, their YAML entries, every test that touches
them and every semantic-layer node downstream of them (``actions.patch``; it reads the
project's files, never writes them).

A model's path comes from the manifest (``original_file_path``), which is outside
text: a path that leaves the dbt project (``..``, absolute, a symlink that leads out,
control characters) is refused, never read, and its deletion is planned as refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

from lineage_utils.actions.patch import downstream_semantic, plan_deletion, refused_path, render_patch, touching
from lineage_utils.actions.records import Action
from lineage_utils.bi.hal import report_node_id
from lineage_utils.dbt.semantic import SemanticNode
from lineage_utils.dbt.tests_of import DbtTest
from lineage_utils.lineage.orphans import Orphan
from lineage_utils.lineage.staleness import StaleReport

__all__ = ["cleanup_patch", "plan_actions", "refused_path"]


def _refusal(orphan: Orphan, why: str, run_id: str) -> Action:
    return Action(action="delete_model", target=orphan.unique_id, name=orphan.name,
                  evidence=f"original_file_path {orphan.path!r} refused: {why}; the file was not read",
                  mode="dry_run", result="refused", run_id=run_id, path=orphan.path, reason="path_outside_project")


def plan_actions(stale: Iterable[StaleReport], orphans: Iterable[Orphan], run_id: str,
                 project_dir: Path | None = None, tests: Mapping[str, DbtTest] | None = None,
                 semantic: Mapping[str, SemanticNode] | None = None) -> list[Action]:
    """Dry-run actions: archive each stale report, delete each orphan model.

    With ``project_dir``, an orphan whose path is refused (``refused_path``) gets a
    ``refused`` deletion naming the node and the path instead of a planned one. With
    ``tests``, a planned deletion names the tests removed with it (``Action.tests``):
    its own and those declared elsewhere that touch it. With ``semantic`` (the project's
    semantic-layer nodes), it names the semantic nodes removed with it (``Action.semantic``).
    """
    orphans = list(orphans)
    removed = touching((tests or {}).values(), {o.unique_id for o in orphans})
    below = downstream_semantic(semantic or {}, {o.unique_id for o in orphans})
    actions = [
        Action(action="archive_report", target=report_node_id(s.token), name=s.name, evidence=s.evidence,
               mode="dry_run", result="planned", run_id=run_id, rules=tuple(s.rules))
        for s in stale
    ]
    for o in orphans:
        why = refused_path(project_dir, o.path) if project_dir is not None and o.path else None
        actions.append(_refusal(o, why, run_id) if why else
                       Action(action="delete_model", target=o.unique_id, name=o.name, evidence=o.evidence,
                              mode="dry_run", result="planned", run_id=run_id, path=o.path, reason=o.reason,
                              tests=tuple(sorted(t.unique_id for t in removed.get(o.unique_id, ()))),
                              semantic=tuple(n.unique_id for n in below.get(o.unique_id, ()))))
    return actions


def cleanup_patch(project_dir: Path | None, orphans: Iterable[Orphan], tests: Mapping[str, DbtTest] | None = None,
                  properties: Mapping[str, str] | None = None,
                  semantic: Mapping[str, SemanticNode] | None = None) -> str:
    """A unified diff that deletes the orphan models (for review, not applied; ``git apply`` takes it).

    It deletes their SQL files; with ``properties`` (model id -> its YAML file) their
    YAML entries; with ``tests`` (``dbt.tests_of``) every test that touches them, so no
    test is left pointing at a deleted model; with ``semantic`` (the semantic-layer nodes)
    every semantic model, metric and saved query downstream of them, so ``dbt parse``
    still accepts the project. A refused path (``refused_path``) is left out and never read.
    """
    if project_dir is None:
        return ""
    return render_patch(plan_deletion(project_dir, orphans, tests or {}, properties or {}, semantic).changes)
