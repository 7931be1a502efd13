"""Safety gates between a plan and its apply: each turns what it stops into a recorded refusal.

A gate takes action records and returns them all, those it stops replaced by records
with result ``refused`` (a plan-time gate) or ``skipped`` (a pre-action re-check), a
``reason`` naming the gate and ``evidence`` with the figures. Nothing is dropped
silently; apply runs ``planned`` records only.

* ``withhold_if_incomplete``: no deletion proposal (a model or a report) from a crawl
  that did not complete, unless ``cleanup.allow_incomplete`` (DESIGN invariant 2);
* ``removal_fail_safe``: refuse *every* model removal when the proposals exceed
  ``cleanup.max_removal_share`` of the project's models (DataHub's stateful ingestion
  ``fail_safe_threshold`` does the same for soft deletions);
* ``with_file_digests`` (plan) and ``recheck_model_files`` (just before acting): a model
  file whose content changed since the plan is not deleted.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Iterable

from lineage_utils.actions.patch import refused_path
from lineage_utils.actions.records import Action
from lineage_utils.bi.status import CrawlStatus

__all__ = ["DELETIONS", "file_digest", "recheck_model_files", "removal_fail_safe", "with_file_digests",
           "withhold_if_incomplete"]

DELETIONS = frozenset({"delete_model", "delete_report"})
"""The action kinds that remove something (withheld after an incomplete crawl)."""


def _refuse(action: Action, reason: str, evidence: str, result: str = "refused") -> Action:
    """The action stopped by a gate: its planning evidence kept after the gate's."""
    kept = f"{evidence} (planned on: {action.evidence})" if action.evidence else evidence
    return replace(action, result=result, reason=reason, evidence=kept)  # type: ignore[arg-type]


def withhold_if_incomplete(actions: Iterable[Action], status: CrawlStatus, allow_incomplete: bool) -> list[Action]:
    """Planned deletions refused (``crawl_incomplete``) when the crawl did not complete and that is not allowed."""
    actions = list(actions)
    if status.complete or allow_incomplete:
        return actions
    problems = status.problems
    first = f"; first: {problems[0][0]}: {problems[0][1]}" if problems else ""
    evidence = (f"the crawl of {status.workspace or status.origin} was incomplete ({len(status.errors)} errors, "
                f"{len(status.missing)} missing, {len(status.anomalies)} anomalies{first}): deletion proposals "
                "are withheld (cleanup.allow_incomplete is off)")
    return [_refuse(a, "crawl_incomplete", evidence) if a.action in DELETIONS and a.result == "planned" else a
            for a in actions]


def removal_fail_safe(actions: Iterable[Action], model_count: int, max_share: float) -> list[Action]:
    """Every planned model removal refused (``fail_safe``) when they exceed ``max_share`` of ``model_count``.

    The share is ``removals / model_count``; exceeding means strictly more than the limit.
    A project with no models and removals proposed is refused too.
    """
    actions = list(actions)
    removals = [a for a in actions if a.action == "delete_model" and a.result == "planned"]
    if not removals:
        return actions
    share = len(removals) / model_count if model_count else float("inf")
    if share <= max_share:
        return actions
    allowed = int(max_share * model_count)
    evidence = (f"fail-safe: {len(removals)} of {model_count} models ({share:.1%}) proposed for removal, more than "
                f"cleanup.max_removal_share {max_share:g} ({allowed} models): every model removal is refused; "
                "check the crawl and the protection settings, or raise the share on purpose")
    return [_refuse(a, "fail_safe", evidence) if a in removals else a for a in actions]


def file_digest(project_dir: Path, path: str | None) -> str | None:
    """``sha256:<hex>`` of a project file's bytes; None when it is refused, absent or unreadable."""
    if not path or refused_path(project_dir, path):
        return None
    try:
        data = (Path(project_dir).resolve() / path).read_bytes()
    except OSError:
        return None
    return "sha256:" + hashlib.sha256(data).hexdigest()


def with_file_digests(project_dir: Path, actions: Iterable[Action]) -> list[Action]:
    """Planned model deletions with their file's content hash (``Action.digest``), taken at plan time."""
    return [replace(a, digest=file_digest(project_dir, a.path)) if a.action == "delete_model" and a.result == "planned"
            else a for a in actions]


def recheck_model_files(project_dir: Path, actions: Iterable[Action]) -> list[Action]:
    """Just before acting: a planned model deletion (or deprecation) whose file changed, vanished or was never
    hashed is skipped."""
    out = []
    for action in actions:
        if action.action not in ("delete_model", "deprecate_model") or action.result != "planned":
            out.append(action)
            continue
        now = file_digest(project_dir, action.path)
        if action.digest is None:
            out.append(_refuse(action, "file_unverified", f"{action.path}: no content hash was taken when planned; "
                               "the file is not deleted unverified", "skipped"))
        elif now is None:
            out.append(_refuse(action, "file_gone", f"{action.path}: gone or unreadable since the plan "
                               f"(planned {action.digest[:19]})", "skipped"))
        elif now != action.digest:
            out.append(_refuse(action, "file_changed", f"{action.path}: content changed since the plan "
                               f"({action.digest[:19]} -> {now[:19]}); re-plan to delete it", "skipped"))
        else:
            out.append(action)
    return out
