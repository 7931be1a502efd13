"""BI report archival: plan archive and delete calls with their evidence, then apply them safely.

Planning (``plan_archival``, pure): each stale, unarchived report gets an
``archive_report`` call; an archived report gets a ``delete_report`` call only when
``delete_archived`` is on and it has been archived for at least the grace period
(DESIGN invariant 4). Since when: Mode's ``archived_at`` when the report carries one
(``archived_since_from_bundle``), else the earlier run whose journal archived it
(``archived_since_from_history``); a report archived at an unknown time is never deleted.
Exempt, each with a recorded reason: reports in protected spaces (token or name), in
members' personal spaces (unless ``include_personal_spaces``) or in a space the crawl
did not list, and everything beyond ``max_per_run`` of each kind (``cap_reached``: it
waits for a later run; the reports idle longest go first).

Applying (``apply_archival``): immediately before each call the target is re-checked
through the BI tool (the way Netflix's Swabbie re-checks before it acts): it must still
exist, be in the state the call expects, and carry the same ``last_run_at``,
``runs_count`` and ``view_count`` as when planned, so it is still stale by the same
rule. A changed target is skipped with the change as evidence; a target already in the
wanted state is a ``noop``. Each call is journaled before and after
(``actions.journal``): applying twice calls once, and after a crash a re-run acts only
on what is left (a call whose outcome is unknown is settled by the re-check).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Mapping

from lineage_utils.actions.journal import Journal, action_key, journal_path, read_journal
from lineage_utils.actions.records import Action
from lineage_utils.bi.adapter import ActionResult, BIAdapter
from lineage_utils.bi.hal import report_node_id
from lineage_utils.bi.snapshot import BiReport, Space, parse_timestamp
from lineage_utils.bi.types import Where, read_report
from lineage_utils.errors import ArtifactError, BIApiError
from lineage_utils.lineage.staleness import StaleReport

__all__ = ["ArchivalPlan", "ArchivalPolicy", "ArchivedSince", "ReportCall", "ReportLookup", "apply_archival", "archived_since",
           "archived_since_from_bundle", "archived_since_from_history", "lookup_for", "mode_lookup",
           "plan_archival"]

logger = logging.getLogger(__name__)

ReportLookup = Callable[[str], "BiReport | None"]
"""Report token -> the report as the BI tool has it now, or None when it is gone."""
Hook = Callable[["ReportCall", ActionResult], None]


@dataclass(frozen=True)
class ArchivalPolicy:
    grace_days: int = 30
    protected_spaces: tuple[str, ...] = ()
    include_personal_spaces: bool = False
    max_per_run: int = 20
    delete_archived: bool = False

    @classmethod
    def from_params(cls, params: Any) -> ArchivalPolicy:
        return cls(grace_days=params["cleanup.archive_grace_days"],
                   protected_spaces=tuple(str(s) for s in params["cleanup.protected_spaces"]),
                   include_personal_spaces=params["cleanup.include_personal_spaces"],
                   max_per_run=params["cleanup.max_archive_per_run"],
                   delete_archived="delete_archived" in params["cleanup.apply_kinds"])


@dataclass(frozen=True)
class ArchivedSince:
    at: datetime
    source: str
    """Where the time comes from: ``Mode archived_at`` or ``run <run_id>`` (the run that archived it)."""


@dataclass(frozen=True)
class ReportCall:
    """One planned call and the figures its target had when planned (the re-check compares them)."""

    action: Action
    token: str
    last_run_at: datetime | None
    runs_count: int
    view_count: int

    @property
    def key(self) -> str:
        return action_key(self.action)


@dataclass(frozen=True)
class ArchivalPlan:
    calls: tuple[ReportCall, ...]
    exemptions: tuple[Action, ...]
    """Reports left alone, each ``skipped`` with its ``reason`` and evidence."""

    @property
    def actions(self) -> list[Action]:
        """Every record of the plan: the planned calls, then the exemptions."""
        return [c.action for c in self.calls] + list(self.exemptions)


# -- since when archived -------------------------------------------------------------------
def _stamp(value: Any) -> datetime | None:
    try:
        return parse_timestamp(value)
    except (TypeError, ValueError, OverflowError):
        return None


def archived_since_from_bundle(bundle: Mapping[str, Any]) -> dict[str, ArchivedSince]:
    """Report token -> Mode's ``archived_at`` for raw reports of a bundle that carry one."""
    out = {}
    for raw in bundle.get("reports") or ():
        stamp = _stamp(raw.get("archived_at")) if isinstance(raw, dict) else None
        if stamp is not None and raw.get("token"):
            out[str(raw["token"])] = ArchivedSince(stamp, "Mode archived_at")
    return out


def archived_since_from_history(runs_dir: Path, exclude_run: str | None = None) -> dict[str, ArchivedSince]:
    """Report token -> when an earlier run archived it (its journal's ``finished`` ``done`` archive).

    The latest such archival counts (a report unarchived and archived again dates from
    the second). A damaged journal (other than a torn last line) raises, naming the file.
    """
    out: dict[str, ArchivedSince] = {}
    runs_dir = Path(runs_dir)
    for run_dir in sorted(p for p in runs_dir.iterdir() if p.is_dir()) if runs_dir.is_dir() else ():
        if run_dir.name == exclude_run:
            continue
        for row in read_journal(journal_path(run_dir)):
            if row.get("action") != "archive_report" or row.get("event") != "finished" or row.get("result") != "done":
                continue
            at, target = _stamp(row.get("at")), str(row.get("target") or "")
            token = target.removeprefix(report_node_id(""))
            if at is not None and token and (token not in out or out[token].at < at):
                out[token] = ArchivedSince(at, f"run {row.get('run_id') or run_dir.name}")
    return out


def archived_since(bundle: Mapping[str, Any] | None, runs_dir: Path | None,
                   exclude_run: str | None = None) -> dict[str, ArchivedSince]:
    """Mode's ``archived_at`` where the report carries one, else the earlier run that archived it."""
    history = archived_since_from_history(runs_dir, exclude_run) if runs_dir is not None else {}
    return {**history, **(archived_since_from_bundle(bundle) if bundle else {})}


# -- planning ------------------------------------------------------------------------------
def _exemption(report: BiReport | StaleReport, spaces: Mapping[str, Space], policy: ArchivalPolicy,
               what: str) -> tuple[str, str] | None:
    """(reason, evidence) when the report's space exempts it, else None."""
    space = spaces.get(report.space_token or "")
    if space is None:
        return "unknown_space", (f"space {report.space_token!r} is not in the crawl: {what} is left alone "
                                 "(its kind, personal or protected, cannot be told)")
    protected = set(policy.protected_spaces)
    if space.token in protected or space.name in protected:
        return "protected_space", f"in protected space {space.name!r} ({space.token}; cleanup.protected_spaces)"
    if space.space_type == "private" and not policy.include_personal_spaces:
        return "personal_space", (f"in personal space {space.name!r} ({space.token}); "
                                  "cleanup.include_personal_spaces is off")
    return None


def _figures(report: BiReport | StaleReport) -> str:
    last = report.last_run_at.isoformat() if report.last_run_at else "never"
    return f"last_run_at {last}, runs_count {report.runs_count}, view_count {report.view_count}"


def _idle_since(report: BiReport | StaleReport) -> tuple[str, str]:
    when = report.last_run_at or report.created_at
    return (when.isoformat() if when else "", report.token)


def plan_archival(stale: Iterable[StaleReport], reports: Mapping[str, BiReport], spaces: Mapping[str, Space],
                  policy: ArchivalPolicy, run_id: str, now: datetime,
                  archived_since: Mapping[str, ArchivedSince] | None = None) -> ArchivalPlan:
    """Archive and delete calls for the crawl's ``reports`` (by token) in ``spaces`` (by token).

    ``stale`` are the verdicts of 02_merge; ``archived_since`` when each archived report
    was archived (Mode's ``archived_at`` first, then earlier runs' journals).
    """
    calls: list[ReportCall] = []
    skipped: list[Action] = []

    def skip(kind: str, report: BiReport | StaleReport, reason: str, evidence: str) -> None:
        skipped.append(Action(action=kind, target=report_node_id(report.token), name=report.name,  # type: ignore[arg-type]
                              evidence=evidence, mode="dry_run", result="skipped", run_id=run_id, reason=reason,
                              rules=tuple(getattr(report, "rules", ()))))

    def capped(kind: str, candidates: list[tuple[BiReport | StaleReport, str, tuple[str, ...]]]) -> None:
        for report, evidence, rules in sorted(candidates, key=lambda c: _idle_since(c[0])):
            if sum(1 for c in calls if c.action.action == kind) >= policy.max_per_run:
                skip(kind, report, "cap_reached", f"deferred: cap reached (cleanup.max_archive_per_run "
                     f"{policy.max_per_run}); planned again next run. {evidence}")
                continue
            action = Action(action=kind, target=report_node_id(report.token), name=report.name,  # type: ignore[arg-type]
                            evidence=evidence, mode="dry_run", result="planned", run_id=run_id, rules=rules)
            calls.append(ReportCall(action, report.token, report.last_run_at, report.runs_count, report.view_count))

    to_archive = []
    for s in sorted(stale, key=lambda s: s.token):
        crawled = reports.get(s.token)
        if crawled is not None and crawled.archived:
            skip("archive_report", s, "already_archived", "archived in the crawl already")
            continue
        why = _exemption(s, spaces, policy, "the report")
        if why:
            skip("archive_report", s, *why)
            continue
        to_archive.append((s, f"stale by {', '.join(s.rules)}: {s.evidence} ({_figures(s)})", tuple(s.rules)))
    capped("archive_report", to_archive)

    to_delete = []
    since = archived_since or {}
    for report in sorted(reports.values(), key=lambda r: r.token) if policy.delete_archived else ():
        if report.archived is not True:
            continue
        why = _exemption(report, spaces, policy, "the archived report")
        when = since.get(report.token)
        if why:
            skip("delete_report", report, *why)
        elif when is None:
            skip("delete_report", report, "archived_since_unknown", "archived, but since when is unknown (no Mode "
                 "archived_at, no earlier run archived it): never deleted undated")
        elif (days := (now - when.at).total_seconds() / 86400) < policy.grace_days:
            skip("delete_report", report, "grace_period", f"archived {when.at:%Y-%m-%d} ({when.source}), {days:.0f} "
                 f"days ago: under the grace period of {policy.grace_days} days (cleanup.archive_grace_days)")
        else:
            to_delete.append((report, f"archived {when.at:%Y-%m-%d} ({when.source}), {days:.0f} days ago: at least "
                              f"the grace period of {policy.grace_days} days ({_figures(report)})", ()))
    capped("delete_report", to_delete)
    return ArchivalPlan(calls=tuple(calls), exemptions=tuple(skipped))


# -- re-check through the BI tool ------------------------------------------------------------
def mode_lookup(client: Any) -> ReportLookup:
    """A lookup over a ``ModeClient``: ``GET /reports/{token}`` read as a record; 404 -> None."""
    def lookup(token: str) -> BiReport | None:
        try:
            raw = client.report(token)
        except BIApiError as exc:
            if exc.status == 404:
                return None
            raise
        return read_report(raw, Where(f"GET /reports/{token}"))
    return lookup


def lookup_for(adapter: BIAdapter) -> ReportLookup:
    """The adapter's own way to read one report now (Mode: through its client)."""
    own = getattr(adapter, "report", None)
    if callable(own):
        return own  # type: ignore[return-value]
    client = getattr(adapter, "client", None)
    if client is not None and callable(getattr(client, "report", None)):
        return mode_lookup(client)
    raise TypeError(f"{type(adapter).__name__} offers no way to re-check a report before acting")


def _changed(call: ReportCall, now: BiReport) -> list[str]:
    out = []
    for field, then, current in (("last_run_at", call.last_run_at, now.last_run_at),
                                 ("runs_count", call.runs_count, now.runs_count),
                                 ("view_count", call.view_count, now.view_count)):
        if then != current:
            out.append(f"{field} {then.isoformat() if isinstance(then, datetime) else then} -> "
                       f"{current.isoformat() if isinstance(current, datetime) else current}")
    return out


def recheck(call: ReportCall, current: BiReport | None) -> tuple[str, str, str] | None:
    """Before acting: None to go ahead, else (``noop`` or ``skipped``, reason, why)."""
    archive = call.action.action == "archive_report"
    if current is None:
        return ("skipped", "gone", "the report is gone") if archive else ("noop", "gone", "already gone")
    if archive and current.archived is True:
        return "noop", "already_archived", "already archived"
    if not archive and current.archived is not True:
        return "skipped", "unarchived", "no longer archived: someone unarchived it since the plan"
    changes = _changed(call, current)
    if changes:
        return ("skipped", "changed_target",
                f"changed since the plan ({'; '.join(changes)}): no longer stale by the same evidence")
    return None


# -- applying ------------------------------------------------------------------------------
_KIND_SWITCH = {"archive_report": "archive", "delete_report": "delete_archived"}


def apply_archival(plan: ArchivalPlan | Iterable[ReportCall], adapter: BIAdapter, journal: Journal,
                   kinds: Collection[str], lookup: ReportLookup | None = None,
                   hook: Hook | None = None) -> list[Action]:
    """Carry out the planned calls whose kind is switched on (``archive``, ``delete_archived``).

    Each target is re-checked through ``lookup`` (default: ``lookup_for(adapter)``)
    just before its call; each call is journaled before and after. Returns one record
    per call: ``done``, ``noop``, ``failed`` or ``skipped`` (its reason says why).
    ``hook`` runs after each call made (tests use it to crash midway).
    """
    calls = plan.calls if isinstance(plan, ArchivalPlan) else tuple(plan)
    lookup = lookup or lookup_for(adapter)
    out = []
    for call in calls:
        action, key = call.action, call.key
        applied = replace(action, mode="apply")
        if _KIND_SWITCH[action.action] not in kinds:
            why = f"cleanup.apply_kinds has no {_KIND_SWITCH[action.action]!r}: not applied"
            record = replace(applied, result="skipped", reason="kind_off", evidence=f"{why}. {action.evidence}")
            journal.skipped(record, why)
            out.append(record)
            continue
        earlier = journal.done(key)
        if earlier is not None:
            logger.info("%s: already %s (journal %s)", key, earlier["result"], journal.path)
            out.append(replace(applied, result=earlier["result"]))
            continue
        interrupted = journal.interrupted(key)
        try:
            verdict = recheck(call, lookup(call.token))
        except (BIApiError, ArtifactError) as exc:
            verdict = ("skipped", "recheck_failed", f"the re-check failed: {exc}")
        if verdict is not None:
            result, reason, why = verdict
            why = f"{why} (an earlier call's outcome was unknown)" if interrupted else why
            if result == "noop":
                journal.finished(action, "noop", why)
                out.append(replace(applied, result="noop"))
            else:
                record = replace(applied, result="skipped", reason=reason, evidence=f"{why}. {action.evidence}")
                journal.skipped(record, why)
                out.append(record)
            continue
        journal.started(action)
        result = adapter.archive(call.token) if action.action == "archive_report" else adapter.delete(call.token)
        journal.finished(action, result)
        out.append(replace(applied, result=result.result))
        if hook is not None:
            hook(call, result)
    return out
