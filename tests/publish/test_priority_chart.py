"""rank_views.priority_figure: readable at 11,000 models, labels that never cover each other."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from lineage_utils.lineage.importance import Priorities
from lineage_utils.publish import rank_views


def priorities(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"name": [f"model_{i}" for i in range(n)],
                          "execution_time": rng.exponential(5.0, n), "downstream": rng.integers(0, 5000, n),
                          "downstream_reports": rng.integers(0, 300, n), "priority": rng.random(n)})
    return frame.sort_values("priority", ascending=False, ignore_index=True)


def drawn(figure):
    figure.savefig(io.BytesIO(), format="png")  # lays it out: texts get their extents
    return figure.axes[0]


def test_each_size_class_is_one_uniform_scatter_and_the_top_ones_are_ringed():
    axes = drawn(rank_views.priority_figure(priorities(2000)))
    sizes = [c.get_sizes() for c in axes.collections]
    assert all(len(set(s)) == 1 for s in sizes)  # uniform: Agg's fast path
    assert sum(len(c.get_offsets()) for c in axes.collections[:-1]) == 2000
    assert len(axes.collections[-1].get_offsets()) == 8
    assert axes.get_xlabel() and "log scale" in axes.get_ylabel()
    labels = [t.get_text() for t in axes.get_legend().get_texts()]
    assert any(text.startswith("100+ BI reports downstream") for text in labels)


@pytest.mark.parametrize("seed", range(8))
def test_top_points_drawn_on_top_of_each_other_share_one_label(seed):
    frame = priorities(50, seed)
    frame.loc[3, ["execution_time", "downstream"]] = frame.loc[0, ["execution_time", "downstream"]].to_numpy()
    axes = drawn(rank_views.priority_figure(frame))
    texts = [t for t in axes.texts]
    shared = next(t.get_text().split(", ") for t in texts if "1" in t.get_text().split(", "))
    assert "4" in shared  # drawn at the same place as 1
    assert sorted(int(n) for t in texts for n in t.get_text().split(", ")) == list(range(1, 9))
    boxes = [t.get_window_extent() for t in texts]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_no_runtimes_give_the_reason_not_a_chart():
    class Result:
        priority = Priorities(pd.DataFrame(), "priority = …", "run_results", reason="no run_results.json in target/")
    markup = rank_views.priority_chart(Result()).markup
    assert "no run_results.json in target/" in markup and "<img" not in markup
