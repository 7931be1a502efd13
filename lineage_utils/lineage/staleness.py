"""Which BI reports nobody uses any more: two rules, evidence with every verdict.

* ``last_run_too_old``: last run more than ``last_run_days`` before now (a report
  that never ran is judged by its creation time instead);
* ``low_usage``: fewer than ``low_usage_runs`` runs and fewer than
  ``low_usage_views`` views, and created more than ``low_usage_min_age_days`` ago.

Only live (not archived) reports of type ``Report`` are judged: a dataset is kept
alive by the reports that import it, an archived report is already archived.

02_merge judges (``find_stale_reports``) and stores the verdicts on the report nodes;
later stages read them back (``stale_reports_in``) and never judge again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Literal

import networkx as nx

from lineage_utils.bi.snapshot import BiReport, parse_timestamp

StaleRule = Literal["last_run_too_old", "low_usage"]
STALE_RULES: tuple[StaleRule, ...] = ("last_run_too_old", "low_usage")


@dataclass(frozen=True)
class StalenessRules:
    now: datetime
    last_run_days: int = 100
    low_usage_runs: int = 5
    low_usage_views: int = 5
    low_usage_min_age_days: int = 60

    @classmethod
    def from_params(cls, params) -> "StalenessRules":  # noqa: ANN001 - Params
        return cls(
            now=params.now(),
            last_run_days=params["staleness.last_run_days"],
            low_usage_runs=params["staleness.low_usage_runs"],
            low_usage_views=params["staleness.low_usage_views"],
            low_usage_min_age_days=params["staleness.low_usage_min_age_days"],
        )


@dataclass(frozen=True)
class StaleReport:
    token: str
    name: str
    space_token: str | None
    rules: tuple[StaleRule, ...]
    evidence: str
    last_run_at: datetime | None
    created_at: datetime | None
    runs_count: int
    view_count: int
    schedules_count: int
    web_url: str | None


def _days(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else (now - then).total_seconds() / 86400


def broken_rules(report: BiReport, rules: StalenessRules) -> tuple[tuple[StaleRule, ...], list[str]]:
    """The rules a report breaks and one evidence sentence per rule."""
    broken: list[StaleRule] = []
    evidence: list[str] = []
    since_run = _days(rules.now, report.last_run_at)
    age = _days(rules.now, report.created_at)
    if since_run is not None and since_run > rules.last_run_days:
        broken.append("last_run_too_old")
        evidence.append(
            f"last run {report.last_run_at:%Y-%m-%d}, {since_run:.0f} days ago (limit {rules.last_run_days})"
        )
    elif since_run is None and age is not None and age > rules.last_run_days:
        broken.append("last_run_too_old")
        evidence.append(f"never run; created {age:.0f} days ago (limit {rules.last_run_days})")
    if (
        report.runs_count < rules.low_usage_runs
        and report.view_count < rules.low_usage_views
        and age is not None
        and age > rules.low_usage_min_age_days
    ):
        broken.append("low_usage")
        evidence.append(
            f"{report.runs_count} runs and {report.view_count} views in {age:.0f} days "
            f"(limits: < {rules.low_usage_runs} runs, < {rules.low_usage_views} views, "
            f"> {rules.low_usage_min_age_days} days old)"
        )
    return tuple(broken), evidence


def is_judged(report: BiReport) -> bool:
    """Archived reports and datasets are never listed as stale themselves."""
    return not report.archived and not report.is_dataset


def find_stale_reports(reports: Iterable[BiReport], rules: StalenessRules) -> list[StaleReport]:
    out = []
    for report in reports:
        if not is_judged(report):
            continue
        broken, evidence = broken_rules(report, rules)
        if broken:
            out.append(StaleReport(
                token=report.token, name=report.name, space_token=report.space_token, rules=broken,
                evidence="; ".join(evidence), last_run_at=report.last_run_at, created_at=report.created_at,
                runs_count=report.runs_count, view_count=report.view_count,
                schedules_count=report.schedules_count, web_url=report.web_url,
            ))
    return sorted(out, key=lambda s: s.token)


def stale_reports_in(graph: nx.DiGraph) -> list[StaleReport]:
    """The verdicts 02_merge stored on the report nodes, as records (never judged again)."""
    out = []
    for _, attrs in graph.nodes(data=True):
        if attrs.get("kind") != "bi_report" or not attrs.get("stale"):
            continue
        out.append(StaleReport(
            token=attrs["token"], name=attrs["name"], space_token=attrs.get("space_token"),
            rules=tuple(attrs.get("stale_rules") or ()), evidence=attrs.get("stale_evidence") or "",
            last_run_at=parse_timestamp(attrs.get("last_run_at")), created_at=parse_timestamp(attrs.get("created_at")),
            runs_count=int(attrs.get("runs_count") or 0), view_count=int(attrs.get("view_count") or 0),
            schedules_count=int(attrs.get("schedules_count") or 0), web_url=attrs.get("web_url"),
        ))
    return sorted(out, key=lambda s: s.token)
