"""The dry run of 04_cleanup: gate the plan, journal it, make the cleanup patch and the PR body.

``plan_dry_run`` takes what 04_cleanup planned and

1. runs the plan-time gates (``actions.gates``) in order: ``with_file_digests`` (each
   model deletion carries its file's hash), ``withhold_if_incomplete`` (no deletion
   from an incomplete crawl unless ``cleanup.allow_incomplete``) and
   ``removal_fail_safe`` (no model removal at all when they exceed
   ``cleanup.max_removal_share`` of the project's own models); report archival is
   planned by ``plan_archival`` under ``ArchivalPolicy.from_params``, so protected and
   personal spaces and the per-run cap are recorded as exemptions;
2. journals every record (planned, refused, skipped) in ``actions.jsonl`` through
   ``Journal.record`` (``journal_plan``: see there what a re-run does);
3. makes ``cleanup.patch`` from real ``git format-patch`` when the dbt project is in a
   git repository: ``build_cleanup_branch`` in a worktree of its own, no push, no parse,
   the branch deleted again (``keep_branch=False``), based on ``git.base_branch`` when
   that branch exists locally, else on the current ``HEAD`` commit. Without a
   repository (or when git refuses, e.g. the working tree differs from the base), the
   patch is metapipeline's own unified diff (``render_patch``) and ``patch_note`` says
   so. No planned deletion (withheld, refused by the fail-safe, or no orphan): an empty
   patch;
4. renders ``pr_body.md`` (``actions.pr_body``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd
from filelock import FileLock

from lineage_utils.actions.archive import ArchivalPolicy, ReportCall, archived_since, plan_archival
from lineage_utils.actions.exposures_file import ExposuresFile, ParseCheck, read_current_file, validate_exposures_file
from lineage_utils.actions.gates import removal_fail_safe, with_file_digests, withhold_if_incomplete
from lineage_utils.actions.gitcmd import GitError, rev
from lineage_utils.actions.journal import Journal, journal_path, read_journal
from lineage_utils.actions.patch import Deletion, render_patch
from lineage_utils.actions.plan import plan_actions
from lineage_utils.actions.pr_body import RunFacts, render_pr_body
from lineage_utils.actions.records import Action
from lineage_utils.actions.removal import RemovalInputs, RemovalPlan, apply_strategy, plan_removal
from lineage_utils.actions.worktree import build_cleanup_branch, commit_message, locate
from lineage_utils.bi.snapshot import BiSnapshot
from lineage_utils.bi.status import CrawlStatus
from lineage_utils.dbt.semantic import SemanticNode
from lineage_utils.dbt.tests_of import DbtTest
from lineage_utils.errors import UnsafeActionError
from lineage_utils.lineage.orphans import Orphan
from lineage_utils.lineage.staleness import StaleReport
from lineage_utils.run_folder import Run

__all__ = ["DryRun", "journal_plan", "plan_dry_run", "project_model_count", "run_facts", "run_link"]

logger = logging.getLogger(__name__)

APPLIED_EVENTS = frozenset({"started", "finished"})
WITHHELD = "the crawl was incomplete: deletion proposals are withheld (cleanup.allow_incomplete is off)"


@dataclass(frozen=True)
class DryRun:
    actions: list[Action]
    """Every record of the plan, gates applied: planned, refused (with the gate's reason) or skipped."""
    patch: str
    patch_source: str
    """``git format-patch``, ``render_patch`` (no repository, or git refused) or empty (nothing to delete)."""
    patch_note: str
    pr_body: str
    branch: str | None = None
    withheld: str | None = None
    """Why ``withhold_if_incomplete`` refuses every deletion of this run (an incomplete crawl), else None."""
    removal: RemovalPlan | None = None
    """The model records with the strategy's verdicts and what their file changes are planned from."""
    report_calls: tuple[ReportCall, ...] = ()
    """The report calls the gates left planned (what ``apply_archival`` carries out)."""
    exposures_check: ParseCheck | None = None
    """Real ``dbt parse`` with the generated exposures file in place (None: the file is unchanged)."""


def project_model_count(nodes: pd.DataFrame, project: str | None) -> int:
    """The project's own models (those of installed packages are never proposed for removal)."""
    models = nodes[nodes["kind"] == "model"]
    if project and "package" in models.columns:
        models = models[models["package"] == project]
    return int(len(models))


def run_facts(nodes: pd.DataFrame) -> dict[str, RunFacts]:
    """Node id -> its last dbt run (``run_results.json``: completion time, runtime, status)."""
    def value(v: Any) -> Any:
        return None if v is None or (isinstance(v, float) and pd.isna(v)) else v
    return {row.unique_id: RunFacts(None if value(row.run_completed_at) is None else str(row.run_completed_at),
                                    value(row.execution_time), value(row.run_status))
            for row in nodes.itertuples() if row.kind == "model"}


def journal_plan(run_dir: Path, actions: Iterable[Action]) -> Path:
    """Journal the plan in ``actions.jsonl``; what a re-run of 04_cleanup in the same run folder does:

    * nothing was applied yet (no ``started`` or ``finished`` line): the plan lines of
      the earlier run are replaced, atomically under the journal's lock, so the file is
      the current plan (a re-run under other params must not leave the old plan beside
      the new one);
    * something was applied: the new plan lines are appended, never rewriting what
      happened (``Journal`` is append-only).
    """
    path = journal_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    actions = list(actions)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.plan")  # the plan, journaled aside first
    scratch.unlink(missing_ok=True)
    try:
        Journal(scratch).record(actions)
        with FileLock(str(path) + ".lock", timeout=60):
            if not any(row.get("event") in APPLIED_EVENTS for row in read_journal(path)):
                os.replace(scratch, path)
                return path
    finally:
        scratch.unlink(missing_ok=True)
        Path(f"{scratch}.lock").unlink(missing_ok=True)
    Journal(path).record(actions)
    return path


def _gated(run: Run, stale: list[StaleReport], orphans: list[Orphan], status: CrawlStatus, snapshot: BiSnapshot,
           tests: Mapping[str, DbtTest], semantic: Mapping[str, SemanticNode],
           model_count: int) -> tuple[list[Action], tuple[ReportCall, ...]]:
    params = run.params
    project_dir = params.path("dbt.project_dir")
    models = plan_actions([], orphans, run.run_id, project_dir, tests, semantic)
    models = with_file_digests(project_dir, models) if project_dir is not None else models
    policy = ArchivalPolicy.from_params(params)
    since = archived_since(run.read_json("bi_snapshot"), params.runs_dir, run.run_id) if policy.delete_archived else {}
    archival = plan_archival(stale, snapshot.reports, snapshot.spaces, policy, run.run_id, params.now(), since)
    actions = withhold_if_incomplete(archival.actions + models, status, params["cleanup.allow_incomplete"])
    actions = removal_fail_safe(actions, model_count, params["cleanup.max_removal_share"])
    still = {a.target for a in actions if a.action in ("archive_report", "delete_report") and a.result == "planned"}
    return actions, tuple(c for c in archival.calls if c.action.target in still)


def _base(top: Path, wanted: str) -> tuple[str, str]:
    """(the base ``build_cleanup_branch`` takes, a note when it is not ``git.base_branch``)."""
    if rev(top, f"refs/heads/{wanted}^{{commit}}"):
        return wanted, ""
    head = rev(top, "HEAD^{commit}") or "HEAD"
    return "HEAD", f"git.base_branch {wanted!r} is not a local branch: the patch is made against HEAD ({head[:12]})"


def _patch(run: Run, plan: RemovalPlan) -> tuple[str, str, str, str | None]:
    """(patch, source, note, branch) of the planned model removal (deletions and deprecations)."""
    params = run.params
    project_dir = params.path("dbt.project_dir")
    planned = [a for a in plan.actions if a.action in ("delete_model", "deprecate_model") and a.result == "planned"]
    if not planned or project_dir is None:
        return "", "", "", None
    removal = plan_removal(plan.inputs, planned, plan.decisions)
    if not removal.changes:
        return "", "", "", None
    fallback = render_patch(removal.changes)
    repo_dir = params.path("git.repo_dir")
    try:
        top, _ = locate(repo_dir, project_dir)
    except (GitError, UnsafeActionError) as exc:
        return fallback, "render_patch", (f"not from git format-patch: the dbt project is not in a git repository "
                                          f"({exc}); this is metapipeline's own diff, `git apply` takes it"), None
    base, note = _base(top, params["git.base_branch"])
    deleted = [a.name for a in planned if a.action == "delete_model"]
    message = commit_message(run.run_id, deleted, [a.name for a in planned if a.action == "deprecate_model"])
    for attempt in (1, 2):  # a second dry run of the same run id may hold the branch a moment: once more
        try:
            result = build_cleanup_branch(repo_dir, project_dir, base, run.run_id,
                                          Deletion(changes=removal.changes, models=removal.deleted), deleted,
                                          push=False, parse=False, keep_branch=False, now=params.now(),
                                          message=message)
            break
        except GitError as exc:
            if attempt == 2:
                return fallback, "render_patch", f"not from git format-patch: git failed ({exc})", None
        except UnsafeActionError as exc:
            return fallback, "render_patch", f"not from git format-patch: {exc}", None
    if not result.ok:
        return fallback, "render_patch", f"not from git format-patch: {result.message}", None
    made = f"git format-patch of {result.branch} against {result.base[:12]} (branch deleted again: dry run)"
    return result.patch, "git format-patch", f"{made}; {note}" if note else made, result.branch


def _exposures_check(run: Run, exposures: ExposuresFile | None) -> ParseCheck | None:
    """Real ``dbt parse`` with the generated file in place, when it differs from the project's."""
    project_dir = run.params.path("dbt.project_dir")
    if exposures is None or project_dir is None or not (project_dir / "dbt_project.yml").is_file() \
            or read_current_file(project_dir, exposures.path) == exposures.content:
        return None
    return validate_exposures_file(project_dir, exposures)


def plan_dry_run(run: Run, stale: Iterable[StaleReport], orphans: Iterable[Orphan], status: CrawlStatus,
                 snapshot: BiSnapshot, nodes: pd.DataFrame, tests: Mapping[str, DbtTest],
                 properties: Mapping[str, str], semantic: Mapping[str, SemanticNode],
                 project: str | None, exposures: ExposuresFile | None = None, docs: Any = None) -> DryRun:
    """Gate, journal, patch and PR body of 04_cleanup (see the module docstring); writes actions, patch, body."""
    params = run.params
    stale, orphans = list(stale), list(orphans)
    actions, calls = _gated(run, stale, orphans, status, snapshot, tests, semantic,
                            project_model_count(nodes, project))
    actions, decisions = apply_strategy(actions, orphans, nodes, params["cleanup.strategy"], params.now().date(),
                                        params["cleanup.deprecation_days"])
    journal_plan(run.run_dir, actions)
    run.record_provenance("actions")
    inputs = RemovalInputs(project_dir=params.path("dbt.project_dir") or Path("."), orphans=tuple(orphans),
                           tests=tests, properties=properties, semantic=semantic, docs=docs,
                           generated_exposures=exposures.path if exposures is not None else None,
                           model_paths={o.unique_id: o.path for o in orphans if o.path})
    plan = RemovalPlan(actions=tuple(actions), inputs=inputs, decisions=tuple(decisions), runs=run_facts(nodes))
    patch, source, note, branch = _patch(run, plan)
    body = render_pr_body(orphans, actions, plan.runs, run.run_id, run_link(run), branch, note)
    run.write_text("cleanup_patch", patch)
    run.write_text("pr_body", body)
    withheld = WITHHELD if not status.complete and not params["cleanup.allow_incomplete"] else None  # gate's rule
    return DryRun(actions=actions, patch=patch, patch_source=source, patch_note=note, pr_body=body, branch=branch,
                  withheld=withheld, removal=plan, report_calls=calls, exposures_check=_exposures_check(run, exposures))


def run_link(run: Run) -> str:
    """The run's report: under ``publish.base_url`` when published there, else the run folder's path."""
    base = run.params["publish.base_url"]
    return f"{base.rstrip('/')}/{run.run_id}/index.html" if base else str(run.run_dir / "index.html")
