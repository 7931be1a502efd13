"""The run page's story below "what to do now": the trend sparkline, the staleness distribution,
and the counts by dbt layer and by BI space.

Read from the run folder's own data files (``trend``, written by 03_rank from the
history store; ``reports``, ``stale_reports``, ``dbt_nodes``, ``orphan_models``), so the
page is built after the chain without the params or the store. Each part is None when
its data is not there (a partial run), and the page leaves it out. Drawn as small
inline SVG by the autoescaping template: no script, nothing fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from lineage_utils.errors import MetapipelineError
from lineage_utils.params import load_params

__all__ = ["STALENESS_BUCKETS", "Story", "run_story"]

STALENESS_BUCKETS = ((7, "≤ 7 days"), (30, "8–30 days"), (90, "31–90 days"), (180, "91–180 days"),
                     (365, "181–365 days"), (None, "> 1 year"))
"""Days since a live report's last run, bucketed (upper bounds); never-run reports are a bucket of their own."""
TREND_POINTS = 60
MAX_ROWS = 12
"""Rows of the layer and space tables; the rest are counted ("N more")."""
SPARK_W, SPARK_H = 360, 64


@dataclass(frozen=True)
class Story:
    trend: dict[str, Any] | None
    staleness: dict[str, Any] | None
    layers: dict[str, Any] | None
    spaces: dict[str, Any] | None


def _frame(run_dir: Path, name: str) -> pd.DataFrame | None:
    path = run_dir / "data" / f"{name}.parquet"
    try:
        return pd.read_parquet(path) if path.is_file() else None
    except (OSError, ValueError):  # a damaged file: that part is left out, the rest of the page stands
        return None


def _clock(run_dir: Path, started_at: str | None) -> tuple[datetime, int | None]:
    """The run's staleness clock (``staleness.now``, else its start) and threshold, from its ``params.yaml``."""
    start = pd.Timestamp(started_at) if started_at else pd.Timestamp.now(tz="UTC")
    start = (start if start.tzinfo else start.tz_localize("UTC")).to_pydatetime()
    try:
        params = load_params(run_dir / "params.yaml")
    except (MetapipelineError, OSError):  # no params.yaml (a bare run folder): the page still stands
        return start, None
    return (params.now() if params["staleness.now"] else start), params["staleness.last_run_days"]


def _points(values: list[float], top: float) -> str:
    step = SPARK_W / max(len(values) - 1, 1)
    return " ".join(f"{i * step:.1f},{SPARK_H - 4 - (v / top) * (SPARK_H - 8):.1f}" for i, v in enumerate(values))


def trend_part(runs: pd.DataFrame | None) -> dict[str, Any] | None:
    """Models, orphan models and stale reports at each recorded run (history's ``run_counts``) (the latest ``TREND_POINTS``), as sparkline points."""
    if runs is None or runs.empty or not {"run_id", "started_at", "models"} <= set(runs.columns):
        return None
    wide = runs.sort_values(["started_at", "run_id"]).tail(TREND_POINTS)
    series = {key: [float(v) for v in wide[key].ffill().fillna(0)] for key in ("models", "orphans", "stale_reports")
              if key in wide.columns}
    top = max(max(values, default=0) for values in series.values()) or 1.0
    days = [pd.Timestamp(t) for t in wide["started_at"]]
    demo = bool(runs["demo"].fillna(False).astype(bool).any()) if "demo" in runs.columns else False
    first, last = series["models"][0], series["models"][-1]
    return {"lines": [{"key": key, "points": _points(values, top), "last": int(values[-1])}
                      for key, values in series.items()],
            "runs": len(days), "since": f"{days[0]:%Y-%m-%d}", "until": f"{days[-1]:%Y-%m-%d}",
            "change": int(last - first), "width": SPARK_W, "height": SPARK_H, "demo": demo}


def staleness_part(reports: pd.DataFrame | None, now: datetime, threshold: int | None) -> dict[str, Any] | None:
    """Live reports (not archived, not datasets) by days since their last run, in ``STALENESS_BUCKETS``."""
    if reports is None or "last_run_at" not in reports.columns:
        return None
    live = reports
    if "archived" in live.columns:
        live = live[~live["archived"].fillna(False).astype(bool)]
    if "type" in live.columns:
        live = live[live["type"] != "DatasetReport"]
    last = pd.to_datetime(live["last_run_at"], utc=True, errors="coerce")
    days = ((pd.Timestamp(now) - last.dropna()).dt.total_seconds() / 86400).clip(lower=0)
    buckets, low = [], None
    for high, label in STALENESS_BUCKETS:
        inside = (days > low) if low is not None else (days >= 0)
        if high is not None:
            inside &= days <= high
        buckets.append({"label": label, "count": int(inside.sum()),
                        "beyond": threshold is not None and (high is None or high > threshold)})
        low = high
    never = int(last.isna().sum())
    buckets.append({"label": "never run", "count": never, "beyond": False})
    top = max((b["count"] for b in buckets), default=0) or 1
    for bucket in buckets:
        bucket["width"] = round(240 * bucket["count"] / top, 1)
    return {"buckets": buckets, "reports": len(live), "threshold": threshold, "at": f"{pd.Timestamp(now):%Y-%m-%d}"}


def _layer(path: Any) -> str:
    parts = PurePosixPath(str(path or "").replace("\\", "/")).parts
    return parts[1] if len(parts) > 2 and parts[0] == "models" else "(top level)"


def layers_part(nodes: pd.DataFrame | None, orphans: pd.DataFrame | None) -> dict[str, Any] | None:
    """Models by the first folder under ``models/`` (staging, intermediate, marts, ...), with their orphans.

    The ``MAX_ROWS`` biggest layers, and how many more there are."""
    if nodes is None or not {"kind", "path", "unique_id"} <= set(nodes.columns):
        return None
    models = nodes[nodes["kind"] == "model"]
    if models.empty:
        return None
    orphan_ids = set(orphans["unique_id"]) if orphans is not None and "unique_id" in orphans.columns else set()
    layer = models["path"].map(_layer)
    rows = [{"layer": name, "models": int(len(group)), "orphans": int(group["unique_id"].isin(orphan_ids).sum())}
            for name, group in models.groupby(layer, sort=True)]
    rows.sort(key=lambda r: (-r["models"], r["layer"]))
    return {"rows": rows[:MAX_ROWS], "more": max(len(rows) - MAX_ROWS, 0), "total": len(rows)}


def spaces_part(reports: pd.DataFrame | None, stale: pd.DataFrame | None) -> dict[str, Any] | None:
    """Reports per BI space: how many, how many stale, how many archived (the ``MAX_ROWS`` stalest)."""
    if reports is None or reports.empty or "space_token" not in reports.columns:
        return None
    stale_tokens = set(stale["token"]) if stale is not None and "token" in stale.columns else set()
    names = reports["space_name"] if "space_name" in reports.columns else reports["space_token"]
    frame = reports.assign(space=names.fillna(reports["space_token"]).astype(str),
                           is_stale=reports["token"].isin(stale_tokens),
                           is_archived=reports.get("archived", pd.Series(False, index=reports.index)).fillna(False)
                           .astype(bool))
    rows = [{"space": space, "reports": int(len(group)), "stale": int(group["is_stale"].sum()),
             "archived": int(group["is_archived"].sum())} for space, group in frame.groupby("space", sort=True)]
    rows.sort(key=lambda r: (-r["stale"], -r["reports"], r["space"]))
    return {"rows": rows[:MAX_ROWS], "more": max(len(rows) - MAX_ROWS, 0), "total": len(rows)}


def run_story(run_dir: Path, started_at: str | None = None) -> Story:
    """Every part the run folder has data for; the staleness clock is the run's ``staleness.now`` or its start."""
    now, threshold = _clock(run_dir, started_at)
    reports = _frame(run_dir, "reports")
    return Story(trend=trend_part(_frame(run_dir, "trend")),
                 staleness=staleness_part(reports, now, threshold),
                 layers=layers_part(_frame(run_dir, "dbt_nodes"), _frame(run_dir, "orphan_models")),
                 spaces=spaces_part(reports, _frame(run_dir, "stale_reports")))
