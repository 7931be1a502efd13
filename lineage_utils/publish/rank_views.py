"""What 03_rank shows: the importance ranking, the slowest models, the priority with its formula,
the critical path and the trend charts, each with a line a stakeholder can read.

Every table goes through ``views.table`` (the safe template); every chart through
``views.png``. An empty answer (no run_results, no history yet) says why instead of
drawing a degenerate chart.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lineage_utils.lineage.importance import COLUMN_HELP
from lineage_utils.publish import trends
from lineage_utils.publish.templating import Html
from lineage_utils.publish.views import png, table, yaml_block

__all__ = ["critical_path", "importance", "priority", "slowest", "trend_charts"]

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
        note += f"; {pri.without_runtime} models without a runtime are left out"
    return Html(yaml_block(note).markup + table(_rounded(pri.table.head(top)), shown).markup
                + _help(["downstream_runtime", "waiting_runtime", "priority"]).markup)


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
