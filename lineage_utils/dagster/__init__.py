"""metapipeline under Dagster: ``dagster dev -m lineage_utils.dagster``.

``defs`` holds the four stage assets (``assets``), the job ``metapipeline`` that
materialises them together, a daily schedule and a sensor that starts a run when the
dbt project's ``manifest.json`` changes (both off until turned on in the UI), and the
credential resources (``resources``). Needs the ``dagster`` extra:
``pip install -e ".[dagster]"``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg

from lineage_utils.dagster.assets import ASSETS, GROUP, default_params_path
from lineage_utils.dagster.resources import default_resources
from lineage_utils.errors import MetapipelineError, ParamsError
from lineage_utils.params import load_params

__all__ = ["defs", "manifest_changed", "metapipeline_daily", "metapipeline_job"]

metapipeline_job = dg.define_asset_job("metapipeline", selection=dg.AssetSelection.groups(GROUP),
                                       description="The whole chain: crawl, merge, rank, cleanup.")

metapipeline_daily = dg.ScheduleDefinition(name="metapipeline_daily", job=metapipeline_job, cron_schedule="0 6 * * *",
                                           execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.STOPPED,
                                           description="Every day at 06:00 UTC (off until turned on).")


def manifest_path() -> Path:
    """The ``manifest.json`` of ``dbt.target_dir`` in the default params."""
    params = load_params(Path(default_params_path()))
    target = params.path("dbt.target_dir")
    if target is None:
        raise ParamsError("params key 'dbt.target_dir' is empty: there is no manifest.json to watch")
    return target / "manifest.json"


@dg.sensor(job=metapipeline_job, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.STOPPED,
           description="A run when the dbt project's manifest.json changes (content, not mtime).")
def manifest_changed(context: dg.SensorEvaluationContext):
    try:
        path = manifest_path()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except (OSError, MetapipelineError) as exc:
        return dg.SkipReason(f"manifest.json not readable: {exc}")
    if context.cursor is None:  # first look after turning it on: remember, do not run
        context.update_cursor(digest)
        return dg.SkipReason(f"watching {path} from now on")
    if context.cursor == digest:
        return dg.SkipReason(f"{path} unchanged")
    context.update_cursor(digest)
    return dg.RunRequest(run_key=digest[:16], tags={"metapipeline/manifest": digest[:16]})


defs = dg.Definitions(assets=list(ASSETS), jobs=[metapipeline_job], schedules=[metapipeline_daily],
                      sensors=[manifest_changed], resources=default_resources())
