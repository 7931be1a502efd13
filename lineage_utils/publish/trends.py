"""Trend charts over the run history, drawn from DataFrames (``publish`` never reads the store).

The frames come from ``history.queries`` (``models_per_day``, ``runtime_per_day``,
``run_counts``, ``cleanup_merges``) and the run folder's ``reports`` frame. Each function
returns a matplotlib :class:`~matplotlib.figure.Figure` (rendered by Agg, no pyplot state;
``views.png`` turns it into HTML): labelled axes, dates on x with a locator that never
overlaps its labels, and each cleanup pull request's merge date as a dashed line. With
nothing to draw, the figure says so in words ("no history yet") instead of drawing
empty axes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.figure import Figure

SIZE = (8.0, 3.6)
COLOURS = ("#4682b4", "#d2691e", "#6b8e23", "#8b5a8b", "#708090")
CLEANUP_COLOUR = "#b22222"
LABELS = {"models": "models", "orphans": "orphan models", "stale_reports": "stale reports",
          "exposures": "exposures"}
NO_HISTORY = "No history yet: the store fills as metapipeline runs (or run `python -m lineage_utils.history import DIR`)."


def message_figure(title: str, text: str) -> Figure:
    """A small figure that says why there is no chart (never empty or degenerate axes)."""
    figure = Figure(figsize=(SIZE[0], 1.4))
    figure.text(0.02, 0.7, title, fontsize=12, weight="bold")
    figure.text(0.02, 0.3, text, fontsize=10, wrap=True)
    return figure


def _title(text: str, demo: bool) -> str:
    return f"{text} (demo data)" if demo else text


def _is_demo(*frames: pd.DataFrame | None) -> bool:
    return any(frame is not None and "demo" in frame.columns and bool(frame["demo"].fillna(False).any())
               for frame in frames)


def _axes(title: str) -> tuple[Figure, Any]:
    figure = Figure(figsize=SIZE, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=11)
    axes.grid(axis="y", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    return figure, axes


def _date_axis(axes: Any, label: str = "date (UTC)") -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axes.set_xlabel(label)


def _mark_cleanups(axes: Any, cleanups: pd.DataFrame | None, start: Any, end: Any) -> None:
    """A dashed line at each cleanup merge inside the charted span, its pull request named at the top."""
    if cleanups is None or cleanups.empty:
        return
    merged = pd.to_datetime(cleanups["merged_at"])
    shown = cleanups[(merged >= start) & (merged <= end)]
    late = start + (end - start) * 0.8  # a label past here goes left of its line, inside the axes
    for index, (_, row) in enumerate(shown.iterrows()):
        moment = pd.Timestamp(row["merged_at"])
        axes.axvline(moment, color=CLEANUP_COLOUR, linestyle="--", linewidth=1.2,
                     label="cleanup PR merged" if index == 0 else None)
        left = moment > late
        axes.annotate(f"{row['pull_request']} merged {moment:%d %b}", (moment, 1.0 - 0.07 * (index % 4)),
                      xycoords=("data", "axes fraction"), xytext=(-3 if left else 3, -3), textcoords="offset points",
                      fontsize=8, color=CLEANUP_COLOUR, va="top", ha="right" if left else "left")


def _legend(axes: Any) -> None:
    """The legend to the right of the axes, where it can never cover data."""
    axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)


def _span(frame: pd.DataFrame, column: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    values = pd.to_datetime(frame[column])
    return values.min(), values.max() + pd.Timedelta(days=1)


def models_trend(models_per_day: pd.DataFrame, cleanups: pd.DataFrame | None = None) -> Figure:
    """Distinct models dbt ran each day, cleanup merges marked: the project shrinking shows as a step down."""
    if models_per_day.empty:
        return message_figure("Models run per day", NO_HISTORY)
    figure, axes = _axes(_title("Distinct models run per day", _is_demo(models_per_day)))
    days = pd.to_datetime(models_per_day["day"])
    axes.step(days, models_per_day["models"], where="post", color=COLOURS[0], linewidth=1.8, label="models run")
    axes.set_ylim(0, max(models_per_day["models"].max() * 1.15, 1))
    axes.set_ylabel("distinct models run")
    _mark_cleanups(axes, cleanups, *_span(models_per_day, "day"))
    _date_axis(axes)
    _legend(axes)
    return figure


def run_counts_trend(runs: pd.DataFrame, cleanups: pd.DataFrame | None = None,
                     names: Sequence[str] = ("models", "orphans", "stale_reports")) -> Figure:
    """The headline counts at each metapipeline run (one line per count), cleanup merges marked."""
    present = [n for n in names if n in runs.columns and runs[n].notna().any()]
    if runs.empty or not present:
        return message_figure("Counts at each metapipeline run", NO_HISTORY)
    figure, axes = _axes(_title("Counts at each metapipeline run", _is_demo(runs)))
    moments = pd.to_datetime(runs["started_at"])
    for colour, name in zip(COLOURS, present):
        axes.plot(moments, runs[name].astype("float"), marker="o", markersize=4, color=colour,
                  linewidth=1.6, label=LABELS.get(name, name.replace("_", " ")))
    axes.set_ylim(0, max(float(runs[present].max().max()) * 1.15, 1))
    axes.set_ylabel("count")
    _mark_cleanups(axes, cleanups, moments.min(), moments.max())
    _date_axis(axes, "metapipeline run (UTC)")
    _legend(axes)
    return figure


def runtime_trend(runtime_per_day: pd.DataFrame, cleanups: pd.DataFrame | None = None) -> Figure:
    """Per day: minutes of node execution (bars) and dbt's wall-clock time (line, when known)."""
    if runtime_per_day.empty:
        return message_figure("dbt runtime per day", NO_HISTORY)
    figure, axes = _axes(_title("dbt runtime per day", _is_demo(runtime_per_day)))
    days = pd.to_datetime(runtime_per_day["day"])
    axes.bar(days, runtime_per_day["node_seconds"] / 60.0, width=0.8, color=COLOURS[0], alpha=0.75,
             label="node execution (sum over nodes)")
    elapsed = runtime_per_day["elapsed_seconds"]
    if elapsed.notna().any():
        axes.plot(days, elapsed / 60.0, color=COLOURS[1], linewidth=1.5, label="wall clock (sum over dbt runs)")
    axes.set_ylabel("minutes")
    axes.set_ylim(0, None)
    _mark_cleanups(axes, cleanups, *_span(runtime_per_day, "day"))
    _date_axis(axes)
    _legend(axes)
    return figure


def staleness_histogram(reports: pd.DataFrame, now: datetime, threshold_days: int, bins: int = 20) -> Figure:
    """Days since each report's last run (non-archived reports), the staleness threshold drawn.

    Reports never run are counted in the title, not plotted (they have no last run)."""
    live = reports
    if "archived" in live.columns:
        live = live[~live["archived"].fillna(False).astype(bool)]
    if "type" in live.columns:
        live = live[live["type"] == "Report"]
    moment = pd.Timestamp(now)
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment
    last = pd.to_datetime(live["last_run_at"], utc=True) if len(live) else pd.Series(dtype="datetime64[ns, UTC]")
    days = ((moment - last.dropna()).dt.total_seconds() / 86400.0).clip(lower=0)
    never = int(last.isna().sum())
    if days.empty:
        return message_figure("Days since each report's last run",
                              "No report has a last run to chart" + (f" ({never} never run)." if never else "."))
    figure, axes = _axes(f"Days since each report's last run ({len(days)} reports"
                         + (f", {never} never run, not shown)" if never else ")"))
    top = max(float(days.max()), threshold_days * 1.1, 1.0)
    axes.hist(days, bins=bins, range=(0, top), color=COLOURS[0], alpha=0.8, edgecolor="white")
    stale = int((days > threshold_days).sum())
    axes.axvline(threshold_days, color=CLEANUP_COLOUR, linestyle="--", linewidth=1.2,
                 label=f"staleness threshold: {threshold_days} days ({stale} reports beyond)")
    axes.set_xlabel(f"days since last run (at {moment:%Y-%m-%d})")
    axes.set_ylabel("reports")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.legend(loc="upper right", fontsize=8, frameon=False)
    return figure
