"""Carry out the cleanup: the kinds switched on in ``cleanup.apply_kinds``, each journaled before and after.

``apply_cleanup`` runs after the dry run of 04_cleanup has planned, gated and journaled
everything, and only with ``cleanup.apply`` on:

* ``archive`` / ``delete_archived``: ``apply_archival`` over the report calls the gates
  left planned (each report re-checked through the BI tool just before its call);
* ``deletion_pr``: each planned model file re-checked against its hash
  (``recheck_model_files``); the file changes of what is left (``plan_removal``, the
  dry run's patch when nothing changed) committed on ``metapipeline/cleanup-<run_id>``
  in a worktree apart, real ``dbt parse``, push (never forced), then the pull request
  (``actions.pulls``);
* ``exposures_pr``: the generated exposures file, when it differs from the one in the
  dbt project, through the same branch, parse, push and pull request
  (``metapipeline/exposures-<run_id>``).

A pull request's two steps are journaled as ``push_branch`` and ``pull_request``
records whose digest is the set's (``pulls.set_digest``). Re-running apply in the same
run folder (``run_all.py --resume``, or the notebook again) repeats nothing: the
branch is rebuilt to the same commit and not pushed again (the remote has it), and an
opened pull request is found by its marker and refreshed, never opened twice. An open
pull request of ours for the same set, from an earlier run, is refreshed instead of
pushing a new branch.

When dbt fails to parse the branch, or git or GitHub fail, that kind's outcome is
``failed`` with the message and nothing after it in that kind happens; the other kinds
go on, and 04_cleanup shows it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Literal

from lineage_utils.actions.archive import ReportCall, apply_archival
from lineage_utils.actions.dry_run import run_link
from lineage_utils.actions.exposures_file import ExposuresFile, read_current_file
from lineage_utils.actions.gates import recheck_model_files
from lineage_utils.actions.gitcmd import GitError
from lineage_utils.actions.github import GitHubApiError, GitHubClient
from lineage_utils.actions.journal import Journal
from lineage_utils.actions.patch import Deletion, FileChange
from lineage_utils.actions.pr_body import render_exposures_body, render_pr_body
from lineage_utils.actions.pulls import (HEAD_PREFIXES, PrKind, body_with, publish_pull, run_of, same_set,
                                         set_digest, update_pull)
from lineage_utils.actions.records import Action
from lineage_utils.actions.removal import REMOVALS, RemovalPlan, plan_removal
from lineage_utils.actions.worktree import build_cleanup_branch, cleanup_branch_name, commit_message
from lineage_utils.bi.adapter import BIAdapter
from lineage_utils.errors import UnsafeActionError, first_line
from lineage_utils.run_folder import Run

__all__ = ["Applied", "PrOutcome", "apply_cleanup", "run_link"]

logger = logging.getLogger(__name__)

Status = Literal["opened", "updated", "unchanged", "failed", "off", "nothing"]
Hook = Callable[[str, Any], None]
"""Called after each step with its name (``pushed``, ``pull_request``, ``report``): tests crash there."""


@dataclass(frozen=True)
class PrOutcome:
    kind: PrKind
    status: Status
    message: str
    branch: str | None = None
    url: str | None = None
    number: int | None = None
    superseded: tuple[int, ...] = ()
    commit: str | None = None


@dataclass(frozen=True)
class Applied:
    records: list[Action]
    """The records of this apply: report calls, re-check skips, branch pushes and pull requests."""
    deletion_pr: PrOutcome
    exposures_pr: PrOutcome


@dataclass(frozen=True)
class _Pr:
    """One pull request to make: its kind, file changes, set digest, title, body and commit message."""

    kind: PrKind
    changes: tuple[FileChange, ...]
    digest: str
    title: str
    body: str
    message: str


def _step(kind: PrKind, action: str, branch: str, digest: str, run_id: str, evidence: str) -> Action:
    return Action(action=action, target=branch, name=kind, evidence=evidence, mode="apply",  # type: ignore[arg-type]
                  result="planned", run_id=run_id, digest=digest)


def _pull_request(run: Run, pr: _Pr, journal: Journal, client: GitHubClient, hook: Hook | None,
                  records: list[Action]) -> PrOutcome:
    """Branch, parse, push and open (or refresh) one pull request, each step journaled."""
    params = run.params
    repo_dir = params.path("git.repo_dir") or params.path("dbt.project_dir")
    branch = cleanup_branch_name(run.run_id, repo_dir, HEAD_PREFIXES[pr.kind])
    push = _step(pr.kind, "push_branch", branch, pr.digest, run.run_id, f"{pr.title} ({len(pr.changes)} files)")
    pull = _step(pr.kind, "pull_request", branch, pr.digest, run.run_id, pr.title)
    same, others = same_set(client, pr.kind, pr.digest)
    if same is not None:  # an open PR of ours for this set: refresh its body, push nothing
        journal.started(pull)
        outcome = update_pull(client, same, pr.title, body_with(pr.body, pr.kind, pr.digest, run_of(same)))
        changed = outcome.pull.body != same.body or outcome.pull.title != same.title
        records.append(journal_finished(journal, pull, "done" if changed else "noop",
                                        f"#{same.number} {same.html_url} (open for the same set)"))
        return PrOutcome(pr.kind, "updated" if changed else "unchanged",
                         f"#{same.number} is open for the same set: "
                         + ("its body was refreshed" if changed else "it is current") + ", nothing pushed",
                         branch=same.head_ref, url=same.html_url, number=same.number)
    journal.started(push)
    result = build_cleanup_branch(params.path("git.repo_dir"), params.path("dbt.project_dir"),
                                  params["git.base_branch"], run.run_id, Deletion(changes=pr.changes, models=()),
                                  (), remote=params["git.remote"], push=True, parse=True, now=params.now(),
                                  branch_prefix=HEAD_PREFIXES[pr.kind], message=pr.message)
    if not result.ok:
        records.append(journal_finished(journal, push, "failed", result.message))
        return PrOutcome(pr.kind, "failed", result.message, branch=branch, commit=result.commit)
    records.append(journal_finished(journal, push, "done", f"{result.branch} at {result.commit} on "
                                                           f"{params['git.remote']}"))
    if hook is not None:
        hook("pushed", result)
    journal.started(pull)
    opened = publish_pull(client, pr.kind, pr.digest, run.run_id, result.branch, params["git.base_branch"],
                          pr.title, pr.body, others)
    records.append(journal_finished(journal, pull, "done", f"#{opened.pull.number} {opened.pull.html_url}"))
    if hook is not None:
        hook("pull_request", opened)
    return PrOutcome(pr.kind, "opened", f"opened #{opened.pull.number}", branch=result.branch,
                     url=opened.pull.html_url, number=opened.pull.number, superseded=opened.superseded,
                     commit=result.commit)


def journal_finished(journal: Journal, action: Action, result: str, detail: str) -> Action:
    row = journal.finished(action, result, detail)
    return Action(**{k: row[k] for k in ("action", "target", "name", "evidence", "mode", "result", "run_id")},
                  digest=action.digest, reason=detail or None)


# -- the deletion PR --------------------------------------------------------------------------
def _deletion(run: Run, plan: RemovalPlan, journal: Journal, records: list[Action]) -> _Pr | PrOutcome:
    project_dir = run.params.path("dbt.project_dir")
    planned = [a for a in plan.actions if a.action in REMOVALS and a.result == "planned"]
    if not planned or project_dir is None:
        return PrOutcome("deletion_pr", "nothing", "no model removal is planned by this run")
    go = []
    for action in recheck_model_files(project_dir, planned):
        if action.result == "skipped":
            journal.skipped(action, action.evidence)
            records.append(action)
        else:
            go.append(action)
    if not go:
        return PrOutcome("deletion_pr", "nothing", "every planned model file changed since the plan: re-plan")
    removal = plan_removal(plan.inputs, go, plan.decisions)
    if not removal.changes:
        return PrOutcome("deletion_pr", "nothing", "the removal changes no file")
    digest = set_digest(sorted([a.action, a.target, a.digest] for a in go))
    kept = [a for a in plan.actions if a.target not in {g.target for g in go} or a.action not in REMOVALS]
    body = render_pr_body(plan.inputs.orphans, go + kept, plan.runs, run.run_id, run_link(run),
                          HEAD_PREFIXES["deletion_pr"] + run.run_id, dry_run=False)
    deleted = [a.name for a in go if a.action == "delete_model"]
    deprecated = [a.name for a in go if a.action == "deprecate_model"]
    message = commit_message(run.run_id, deleted, deprecated)
    return _Pr("deletion_pr", removal.changes, digest, first_line(message), body, message)


# -- the exposures PR -------------------------------------------------------------------------
def _exposures(run: Run, exposures: ExposuresFile) -> _Pr | PrOutcome:
    current = read_current_file(run.params.path("dbt.project_dir"), exposures.path)
    if current == exposures.content:
        return PrOutcome("exposures_pr", "nothing", f"{exposures.path} in the dbt project is current")
    counts = {kind: sum(c.change == kind for c in exposures.changes) for kind in ("added", "removed", "changed")}
    what = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "rewritten"
    title = f"metapipeline: update the generated dbt exposures ({what})"
    message = (f"{title}\n\nMade by metapipeline run {run.run_id}: one exposure per active BI report that reads "
               f"dbt nodes,\nwritten to {exposures.path} (generated, do not edit).\n")
    change = FileChange(exposures.path, current, exposures.content)
    body = render_exposures_body(exposures, run.run_id, run_link(run))
    return _Pr("exposures_pr", (change,), set_digest(exposures.content), title, body, message)


def _guarded(kind: PrKind, make: Callable[[], PrOutcome]) -> PrOutcome:
    try:
        return make()
    except (GitHubApiError, GitError, UnsafeActionError) as exc:
        logger.warning("%s failed: %s", kind, exc)
        return PrOutcome(kind, "failed", str(exc))


def apply_cleanup(run: Run, plan: RemovalPlan, exposures: ExposuresFile, report_calls: tuple[ReportCall, ...],
                  *, github: GitHubClient | None = None, adapter: BIAdapter | None = None,
                  hook: Hook | None = None) -> Applied:
    """Carry out the kinds of ``cleanup.apply_kinds`` (see the module docstring)."""
    params = run.params
    kinds = set(params["cleanup.apply_kinds"])
    journal = Journal.for_run(run.run_dir)
    records: list[Action] = []
    if kinds & {"archive", "delete_archived"} and report_calls:
        if adapter is None:
            from lineage_utils.bi import mode  # noqa: F401, PLC0415 - registers the Mode adapter
            from lineage_utils.bi.adapter import adapter_for  # noqa: PLC0415
            adapter = adapter_for(params)
        records += apply_archival(report_calls, adapter, journal, kinds,
                                  hook=(lambda call, result: hook("report", call)) if hook else None)
    outcomes: dict[PrKind, PrOutcome] = {}
    client = None
    for kind in ("deletion_pr", "exposures_pr"):
        if kind not in kinds:
            outcomes[kind] = PrOutcome(kind, "off", f"cleanup.apply_kinds has no {kind!r}")
            continue

        def make(kind: PrKind = kind) -> PrOutcome:
            nonlocal client
            pr = _deletion(run, plan, journal, records) if kind == "deletion_pr" else _exposures(run, exposures)
            if isinstance(pr, PrOutcome):
                return pr
            client = client or (github if github is not None else GitHubClient.from_params(params))
            return _pull_request(run, pr, journal, client, hook, records)
        outcomes[kind] = _guarded(kind, make)
    return Applied(records=records, deletion_pr=outcomes["deletion_pr"], exposures_pr=outcomes["exposures_pr"])
