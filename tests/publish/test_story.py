"""The run page's story: trend sparkline, staleness buckets, counts by layer and by space."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from lineage_utils.publish import story
from lineage_utils.publish.html import write_run_index

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _reports() -> pd.DataFrame:
    runs = ["2026-10-30T00:00:00Z", "2026-10-01T00:00:00Z", "2026-06-01T00:00:00Z", "2024-01-01T00:00:00Z", None,
            "2026-10-31T00:00:00Z", "2026-01-01T00:00:00Z"]
    return pd.DataFrame({
        "token": [f"r{i}" for i in range(7)], "last_run_at": runs,
        "archived": [False, False, False, False, False, True, False],
        "type": ["Report"] * 6 + ["DatasetReport"],
        "space_token": ["s1", "s1", "s2", "s2", "s2", "s1", "s3"],
        "space_name": ["Finance <b>", "Finance <b>", "Sales", "Sales", "Sales", "Finance <b>", None]})


def test_staleness_buckets_count_live_reports_and_mark_those_past_the_threshold():
    part = story.staleness_part(_reports(), NOW, threshold=100)
    counts = {b["label"]: b["count"] for b in part["buckets"]}
    assert counts == {"≤ 7 days": 1, "8–30 days": 0, "31–90 days": 1, "91–180 days": 1, "181–365 days": 0,
                      "> 1 year": 1, "never run": 1}  # archived and dataset reports left out
    assert part["reports"] == 5
    assert [b["label"] for b in part["buckets"] if b["beyond"]] == ["91–180 days", "181–365 days", "> 1 year"]
    assert story.staleness_part(pd.DataFrame({"token": []}), NOW, 100) is None


def test_spaces_count_reports_stale_and_archived_stalest_first():
    part = story.spaces_part(_reports(), pd.DataFrame({"token": ["r2", "r3", "r1"]}))
    assert part["rows"] == [
        {"space": "Sales", "reports": 3, "stale": 2, "archived": 0},
        {"space": "Finance <b>", "reports": 3, "stale": 1, "archived": 1},
        {"space": "s3", "reports": 1, "stale": 0, "archived": 0}]  # no name: its token
    assert part["more"] == 0


def test_layers_are_the_first_folder_under_models_with_their_orphans():
    nodes = pd.DataFrame({"unique_id": ["m1", "m2", "m3", "m4", "s1"], "kind": ["model"] * 4 + ["source"],
                          "path": ["models/staging/a.sql", "models/staging/b.sql", "models/marts/core/c.sql",
                                   "models/d.sql", "models/src.yml"]})
    part = story.layers_part(nodes, pd.DataFrame({"unique_id": ["m2", "m4"]}))
    assert part["more"] == 0 and part["rows"] == [{"layer": "staging", "models": 2, "orphans": 1}, {"layer": "(top level)", "models": 1, "orphans": 1},
                    {"layer": "marts", "models": 1, "orphans": 0}]


def test_trend_is_the_latest_runs_in_order_with_the_change_in_models():
    runs = pd.DataFrame({"run_id": ["b", "a", "c"], "started_at": pd.to_datetime(["2026-10-02", "2026-10-01",
                                                                                  "2026-10-03"]),
                         "demo": [False] * 3, "models": [50, 55, 48], "orphans": [5, 7, None]})
    part = story.trend_part(runs)
    assert (part["since"], part["until"], part["runs"], part["change"]) == ("2026-10-01", "2026-10-03", 3, -7)
    assert {line["key"]: line["last"] for line in part["lines"]} == {"models": 48, "orphans": 5}  # carried forward
    ys = [float(point.split(",")[1]) for line in part["lines"] for point in line["points"].split()]
    assert min(ys) == 4.0 and max(ys) <= story.SPARK_H - 4  # the highest value at the top, all inside the box
    assert story.trend_part(runs.iloc[0:0]) is None


def test_the_run_page_tells_the_story_escaped_and_leaves_out_what_it_has_no_data_for(tmp_path):
    run_dir = tmp_path / "20261101T000000Z"
    (run_dir / "data").mkdir(parents=True)
    write_run_index(run_dir, ["01_crawl"], None)
    assert "The story" not in (run_dir / "index.html").read_text()
    _reports().to_parquet(run_dir / "data" / "reports.parquet")
    (run_dir / "params.yaml").write_text("staleness:\n  now: '2026-11-01T00:00:00Z'\n  last_run_days: 100\n")
    page = write_run_index(run_dir, ["01_crawl"], None).read_text()
    assert "The story" in page and "Reports by space" in page and "Days since each live report last ran" in page
    assert "Finance &lt;b&gt;" in page and "Finance <b>" not in page
    assert "reaching past the 100-day staleness threshold" in page and "Project size" not in page


def test_many_layers_show_the_biggest_and_count_the_rest_and_one_run_draws_no_line():
    nodes = pd.DataFrame({"unique_id": [f"m{i}" for i in range(40)], "kind": ["model"] * 40,
                          "path": [f"models/l{i % 20}/x{i}.sql" for i in range(40)]})
    part = story.layers_part(nodes, None)
    assert (len(part["rows"]), part["more"], part["total"]) == (story.MAX_ROWS, 20 - story.MAX_ROWS, 20)
    one = story.trend_part(pd.DataFrame({"run_id": ["a"], "started_at": pd.to_datetime(["2026-10-01"]),
                                         "models": [5]}))
    assert one["runs"] == 1
