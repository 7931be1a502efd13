"""publish.trends: charts from the demo history, and words instead of empty axes."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest
from matplotlib.figure import Figure

from lineage_utils.history import queries
from lineage_utils.history.importer import import_folder
from lineage_utils.publish import trends, views


@pytest.fixture(scope="module")
def demo_trends(tmp_path_factory, repo_root):
    store = tmp_path_factory.mktemp("history") / "history.duckdb"
    import_folder(store, repo_root / "demo" / "history" / "archive")
    return queries.read_trends(store)


def _overlapping(labels) -> bool:
    boxes = [label.get_window_extent() for label in labels if label.get_text()]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def _charts(t):
    return {"models": trends.models_trend(t.models_per_day, t.cleanups),
            "counts": trends.run_counts_trend(t.runs, t.cleanups),
            "runtime": trends.runtime_trend(t.runtime_per_day, t.cleanups)}


def test_the_trend_charts_build_from_the_demo_history(demo_trends, tmp_path):
    for name, figure in _charts(demo_trends).items():
        assert isinstance(figure, Figure)
        figure.savefig(tmp_path / f"{name}.png")  # draws it: labels get their extents
        axes = figure.axes[0]
        assert axes.get_xlabel() and axes.get_ylabel() and "(demo data)" in axes.get_title(), name
        assert not _overlapping(axes.get_xticklabels()), name
        assert any("#42 merged 01 Oct" == text.get_text() for text in axes.texts), name
        assert "cleanup PR merged" in [t.get_text() for t in axes.get_legend().get_texts()], name


def test_an_empty_history_gives_a_figure_that_says_so(tmp_path):
    empty = queries.read_trends(tmp_path / "none.duckdb")
    for name, figure in _charts(empty).items():
        assert figure.axes == [], name
        assert any("No history yet" in text.get_text() for text in figure.texts), name


def test_the_staleness_histogram_draws_the_threshold_and_counts_never_run_reports():
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    reports = pd.DataFrame({
        "type": ["Report", "Report", "Report", "Report", "DatasetReport"],
        "archived": [False, False, False, True, False],
        "last_run_at": pd.to_datetime(["2026-10-30", "2026-03-01", None, "2025-01-01", "2025-01-01"], utc=True)})
    figure = trends.staleness_histogram(reports, now, threshold_days=100)
    axes = figure.axes[0]
    assert "(2 reports, 1 never run, not shown)" in axes.get_title()
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["staleness threshold: 100 days (1 reports beyond)"]
    assert axes.get_xlabel().startswith("days since last run")


def test_no_report_with_a_last_run_gives_words_not_axes():
    reports = pd.DataFrame({"type": ["Report"], "archived": [False], "last_run_at": pd.to_datetime([None], utc=True)})
    figure = trends.staleness_histogram(reports, datetime(2026, 11, 1), threshold_days=100)
    assert figure.axes == [] and any("1 never run" in t.get_text() for t in figure.texts)


def test_views_png_shows_a_trend_figure(demo_trends):
    html = views.png(trends.models_trend(demo_trends.models_per_day, demo_trends.cleanups)).markup
    assert "data:image/png;base64," in html
