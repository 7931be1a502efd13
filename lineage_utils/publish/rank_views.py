"""What 03_rank shows: the importance ranking, the slowest models, the priority with its formula,
the critical path and the trend charts, each with a line a stakeholder can read.

Every table goes through ``views.table`` (the safe template); every chart through
``views.png``. An empty answer (no run_results, no history yet) says why instead of
drawing a degenerate chart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from lineage_utils.lineage.importance import COLUMN_HELP
from lineage_utils.publish import trends
from lineage_utils.publish.templating import Html
from lineage_utils.publish.views import png, table, yaml_block

__all__ = ["critical_path", "importance", "priority", "priority_chart", "priority_figure", "slowest", "trend_charts"]

IMPORTANCE_COLUMNS = ["name", "kind", "importance", "consumers_served", "betweenness", "closeness", "pagerank",
                      "in_degree", "out_degree"]
PRIORITY_COLUMNS = ["name", "priority", "importance", "execution_time", "downstream_runtime", "downstream",
                    "downstream_reports"]


def _help(columns: list[str]) -> Html:
    """One line per column: what it means."""
    lines = [f"{c}: {COLUMN_HELP[c]}" for c in columns if c in COLUMN_HELP]
    return yaml_block("\n".join(lines))


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.round({c: 3 for c in frame.columns if frame[c].dtype.kind == "f"})


def importance(result: Any, top: int = 15) -> Html:
    """The most important models: composite importance, then the measures it is made of."""
    models = result.centrality[result.centrality["kind"] == "model"].head(top)
    shown = [c for c in IMPORTANCE_COLUMNS if c in models.columns]
    return Html(table(_rounded(models), shown).markup + _help(["importance", "consumers_served", "betweenness",
                                                               "closeness", "pagerank"]).markup)


def slowest(result: Any, top: int = 10) -> Html:
    """The slowest models of the latest dbt run, beside their median over the history store."""
    frame = result.priorities
    if frame is None or frame.empty:
        why = result.priority.reason if result.priority is not None else None
        return yaml_block(why or "no model has an execution time: no run_results.json for this project")
    slow = frame.sort_values("execution_time", ascending=False).head(top)[["node_id", "name", "execution_time"]]
    medians = getattr(getattr(result, "history", None), "trends", None)
    if medians is not None and not medians.median_execution_time.empty:
        history = medians.median_execution_time.rename(columns={"unique_id": "node_id"})
        slow = slow.merge(history[["node_id", "median_seconds", "executions"]], on="node_id", how="left")
    return Html(table(_rounded(slow.drop(columns=["node_id"]))).markup
                + yaml_block("execution_time: seconds in the latest dbt run; median_seconds: the median over "
                             "the runs in the history store (executions: how many)").markup)


def priority(result: Any, top: int = 10) -> Html:
    """Where to optimise first, with the formula."""
    pri = result.priority
    if pri is None or pri.table.empty:
        return yaml_block(pri.reason if pri is not None and pri.reason else "no priorities: no execution times")
    shown = [c for c in PRIORITY_COLUMNS if c in pri.table.columns]
    note = f"{pri.formula}  (runtimes from {pri.runtime_source})"
    if pri.without_runtime:
        note += (f"; {pri.without_runtime} model{'s' if pri.without_runtime != 1 else ''} without a runtime "
                 f"{'are' if pri.without_runtime != 1 else 'is'} left out")
    return Html(yaml_block(note).markup + table(_rounded(pri.table.head(top)), shown).markup
                + _help(["downstream_runtime", "waiting_runtime", "priority"]).markup)


REPORT_CLASSES = ((0, 0, "no BI report", 10), (1, 9, "1-9 BI reports", 28), (10, 99, "10-99 BI reports", 60),
                  (100, np.inf, "100+ BI reports", 110))
"""Marker size classes by BI reports downstream: (low, high, legend label, marker area)."""
MARKER, TOP = "#4682b4", "#b22222"


def _label_groups(x: np.ndarray, y: np.ndarray, top: int, near: tuple[float, float] = (0.06, 0.05)) -> list[list[int]]:
    """The first ``top`` points grouped when within ``near`` (axes fractions, as drawn: y on a log scale).

    A label ("5, 8") is about 25 px wide and 12 px high at 9 pt, under 6 % of the axes'
    width and 5 % of its height, so labels of points further apart than that never touch.
    """
    ly = np.log1p(y)
    fx = (x[:top] - x.min()) / ((x.max() - x.min()) or 1.0)
    fy = (ly[:top] - ly.min()) / ((ly.max() - ly.min()) or 1.0)
    groups: list[list[int]] = []
    for i in range(top):
        home = next((g for g in groups if abs(fx[g[0]] - fx[i]) < near[0] and abs(fy[g[0]] - fy[i]) < near[1]), None)
        if home is None:
            groups.append([i])
        else:
            home.append(i)
    return groups


def priority_figure(frame: pd.DataFrame, label_top: int = 8) -> Figure:
    """Runtime (x) against nodes downstream (y), marker size by BI reports served; the top ones numbered.

    ``frame``: the priority table (highest first). Sizes come in four classes, each drawn
    as one uniform scatter (11,000 points of per-point size take Agg a second; four
    uniform ones a tenth of that). The numbers are ranks in the priority table; points
    too close to label apart share one label ("1, 4"), so no label covers another.
    """
    runtime = frame["execution_time"].fillna(0.0).to_numpy(dtype=float)
    downstream = frame["downstream"].fillna(0).to_numpy(dtype=float)
    reports = frame["downstream_reports"].fillna(0).to_numpy(dtype=float)
    figure = Figure(figsize=(8.0, 4.8), layout="constrained")
    axes = figure.add_subplot()
    for low, high, label, area in REPORT_CLASSES:
        chosen = (reports >= low) & (reports <= high)
        if chosen.any():
            axes.scatter(runtime[chosen], downstream[chosen], s=area, alpha=0.45, color=MARKER, edgecolors="none",
                         label=f"{label} downstream ({int(chosen.sum()):,})")
    top = min(label_top, len(frame))
    axes.scatter(runtime[:top], downstream[:top], s=80, facecolors="none", edgecolors=TOP, linewidths=1.4,
                 label=f"top {top} by priority (numbered as in the table)")
    for group in _label_groups(runtime, downstream, top):
        axes.annotate(", ".join(str(i + 1) for i in group), (runtime[group[0]], downstream[group[0]]),
                      xytext=(6, 5), textcoords="offset points", fontsize=9, color=TOP, weight="bold")
    axes.set_yscale("symlog", linthresh=10)
    steps = [0] + [m * 10 ** e for e in range(9) for m in (1, 2, 5)]
    axes.yaxis.set_major_locator(FixedLocator([t for t in steps if t <= max(downstream.max(), 1) * 1.5]))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.yaxis.set_minor_locator(NullLocator())
    axes.set_xlabel("runtime in the latest dbt run (s)")
    axes.set_ylabel("nodes downstream (log scale)")
    axes.set_title("Where optimisation pays: top right is slow and much depends on it", fontsize=11)
    axes.grid(alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return figure


def priority_chart(result: Any, label_top: int = 8) -> Html:
    """The priority chart (``priority_figure``) with a line saying how to read it, or why there is none."""
    pri = result.priority
    if pri is None or pri.table.empty:
        return yaml_block(pri.reason if pri is not None and pri.reason else "no priority chart: no execution times")
    return Html(png(priority_figure(pri.table, label_top)).markup + yaml_block(
        f"{len(pri.table):,} models that ran; the numbers are ranks in the priority table "
        f"({pri.formula})").markup)


def critical_path(result: Any) -> Html:
    """The critical path of the latest dbt invocation: its steps, and its share of the total runtime."""
    path = result.critical
    if path is None or path.steps.empty:
        return yaml_block(path.reason if path is not None and path.reason else "no critical path: nothing ran")
    head = (f"{len(path.nodes)} nodes, {path.seconds:.2f} s of {path.total_seconds:.2f} s summed runtime "
            f"({path.share:.0%}): no schedule of this invocation can finish faster than the path")
    steps = path.steps[["step", "name", "kind", "execution_time", "starts_at", "ends_at"]]
    return Html(yaml_block(head).markup + table(_rounded(steps)).markup)


def trend_charts(result: Any, run: Any) -> Html:
    """Models run per day, the runs' counts, runtime per day, and how long ago ``run``'s reports last ran."""
    reports, now, threshold_days = run.read_frame("reports"), run.params.now(), run.params["staleness.last_run_days"]
    recorded = getattr(result, "history", None)
    parts = []
    if recorded is not None:
        t = recorded.trends
        parts += [png(trends.models_trend(t.models_per_day, t.cleanups)),
                  png(trends.run_counts_trend(t.runs, t.cleanups)),
                  png(trends.runtime_trend(t.runtime_per_day, t.cleanups))]
        if recorded.notes:
            parts.append(yaml_block("\n".join(recorded.notes)))
    parts.append(png(trends.staleness_histogram(reports, now, threshold_days)))
    return Html("".join(p.markup for p in parts))
