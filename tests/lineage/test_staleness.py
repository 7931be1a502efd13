"""Staleness rules, at the thresholds, with an injected now."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from lineage_utils.bi.snapshot import BiReport
from lineage_utils.lineage.staleness import StalenessRules, find_stale_reports

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
RULES = StalenessRules(now=NOW)


def report(token="r1", *, last_run_days=1.0, created_days=400.0, runs=100, views=100, archived=False,
           kind="Report") -> BiReport:
    return BiReport(
        token=token, id=None, name=f"R {token}", description="", type=kind, space_token="s",
        created_at=NOW - timedelta(days=created_days), updated_at=None, edited_at=None, last_saved_at=None,
        last_run_at=None if last_run_days is None else NOW - timedelta(days=last_run_days), archived=archived,
        runs_count=runs, view_count=views, schedules_count=0, query_count=1, creator=None, web_url=None,
        imported_datasets=(),
    )


@pytest.mark.parametrize("kwargs, rules", [
    ({"last_run_days": 100.5}, ("last_run_too_old",)),
    ({"last_run_days": 99.5}, ()),
    ({"runs": 4, "views": 4, "created_days": 61}, ("low_usage",)),
    ({"runs": 4, "views": 4, "created_days": 59}, ()),
    ({"runs": 5, "views": 4, "created_days": 200}, ()),
    ({"runs": 4, "views": 5, "created_days": 200}, ()),
    ({"runs": 1, "views": 1, "created_days": 300, "last_run_days": 150}, ("last_run_too_old", "low_usage")),
    ({"last_run_days": None, "created_days": 120, "runs": 0, "views": 50}, ("last_run_too_old",)),
    ({"last_run_days": None, "created_days": 10, "runs": 0, "views": 0}, ()),
])
def test_rules(kwargs, rules):
    found = find_stale_reports([report(**kwargs)], RULES)
    assert (found[0].rules if found else ()) == rules


def test_archived_and_datasets_are_not_judged():
    old = {"last_run_days": 500, "runs": 0, "views": 0}
    assert find_stale_reports([report(archived=True, **old), report("d", kind="DatasetReport", **old)], RULES) == []


def test_thresholds_come_from_params():
    strict = StalenessRules(now=NOW, last_run_days=10)
    assert find_stale_reports([report(last_run_days=11)], strict)[0].rules == ("last_run_too_old",)


def test_evidence_shows_figures():
    stale = find_stale_reports([report(runs=2, views=3, created_days=90)], RULES)[0]
    assert "2 runs and 3 views" in stale.evidence and "< 5 runs" in stale.evidence


def test_verdicts_stored_on_the_graph_read_back_unchanged():
    import pandas as pd

    from lineage_utils.lineage.graph import build_lineage
    from lineage_utils.lineage.staleness import stale_reports_in

    reports = [report("r1", last_run_days=300.0), report("r2", runs=1, views=1), report("r3")]
    stale = find_stale_reports(reports, RULES)
    empty = pd.DataFrame(columns=["unique_id", "kind", "meta", "fqn"])
    graph = build_lineage(empty, pd.DataFrame(columns=["source", "target", "provenance"]), reports, [], stale,
                          pd.DataFrame(columns=["status", "candidates", "query_node_id", "raw", "conditional"]))
    assert [s.token for s in stale] == ["r1", "r2"]
    assert stale_reports_in(graph) == stale
    assert graph.nodes["mode.report.r3"]["active"] and not graph.nodes["mode.report.r1"]["active"]
