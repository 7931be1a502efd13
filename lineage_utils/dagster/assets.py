"""One Dagster asset per notebook stage: crawl, merge, rank, cleanup.

Each asset runs its stage's notebook with the runner (``runner.start_run`` and
``runner.run_stage``: papermill, the same two parameters, the same ``runs/<run_id>/``
archive as ``run_all.py``), so no stage has a second implementation. The value an asset
hands downstream is the run folder's path; the next asset runs the next notebook in the
same folder. Each materialisation carries the run's headline numbers (Dagster plots
numeric metadata over time) and a link to its ``index.html``.

``crawl`` starts the run, under the run config ``ChainConfig`` (the params file, extra
``--set`` overrides and the apply switches, all off by default). Its asset check
``crawl_complete`` fails on an incomplete crawl; it does not block, so ``cleanup`` still
runs, with deletions withheld, as under ``run_all.py`` (exit status 3).
"""

# No "from __future__ import annotations": Dagster reads the config and resource types from the signatures.

import os
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from lineage_utils.dagster.resources import GitHubCredentials, ModeCredentials, SlackCredentials, credentials_in_env
from lineage_utils.params import load_params
from lineage_utils.publish.record import read_run_record
from lineage_utils.runner import ChainFailed, run_stage, start_run
from lineage_utils.run_folder import Run

__all__ = ["ASSETS", "GROUP", "ChainConfig", "cleanup", "crawl", "default_params_path", "merge", "rank"]

GROUP = "metapipeline"
HEADLINE = ("models", "orphan_models", "stale_reports", "ref_resolution_rate", "crawl_complete", "reports", "queries",
            "references", "exposures_generated", "critical_path_seconds", "deletions_withheld")
"""Keys of the run's ``summary.json`` attached to each materialisation (those it has by then)."""


def default_params_path() -> str:
    """``$METAPIPELINE_PARAMS``, else ``params/default.yaml`` of the source checkout (the demo)."""
    return os.environ.get("METAPIPELINE_PARAMS") or str(Path(__file__).resolve().parents[2] / "params" / "default.yaml")


class ChainConfig(dg.Config):
    """How a run starts: which params, with which overrides, and whether cleanup applies."""

    params_path: str = Field(default_factory=default_params_path,
                             description="The params file (default: $METAPIPELINE_PARAMS, else the demo's).")
    overrides: list[str] = Field(default_factory=list, description="KEY=VALUE overrides, as run_all.py --set.")
    apply: bool = Field(default=False, description="cleanup.apply: carry out the actions (off: a dry run).")
    apply_kinds: list[str] = Field(default_factory=list,
                                   description="cleanup.apply_kinds: deletion_pr, exposures_pr, archive, "
                                               "delete_archived.")

    def all_overrides(self) -> list[str]:
        switches = [f"cleanup.apply={'true' if self.apply else 'false'}"]
        if self.apply_kinds:
            switches.append("cleanup.apply_kinds=[" + ", ".join(self.apply_kinds) + "]")
        return [*self.overrides, *switches]


def _report_link(run: Run) -> dg.MetadataValue:
    base = run.params["publish.base_url"]
    if base:
        return dg.MetadataValue.url(f"{base.rstrip('/')}/{run.run_id}/index.html")
    return dg.MetadataValue.path(str(run.run_dir / "index.html"))


def _metadata(run: Run) -> dict[str, Any]:
    summary = run.read_json("summary") if run.exists("summary") else {}
    numbers: dict[str, Any] = {}
    for key in HEADLINE:
        value = summary.get(key)
        if isinstance(value, bool):
            numbers[key] = dg.MetadataValue.bool(value)
        elif isinstance(value, int):
            numbers[key] = dg.MetadataValue.int(value)
        elif isinstance(value, float):
            numbers[key] = dg.MetadataValue.float(value)
    return {"run_id": dg.MetadataValue.text(run.run_id), "run_dir": dg.MetadataValue.path(str(run.run_dir)),
            "report": _report_link(run), **numbers}


def _stage(context: dg.AssetExecutionContext, run_dir: str, notebook: str, *credentials: Any) -> dg.Output[str]:
    """Run ``notebook`` in ``run_dir`` with the credentials in the environment; its folder and numbers out."""
    folder = Path(run_dir)
    params = load_params(folder / "params.yaml")
    with credentials_in_env(params, *credentials) as names:
        if names:
            context.log.info("credentials from resources in %s", ", ".join(names))  # names only, never values
        try:
            run_stage(folder, notebook)
        except ChainFailed as exc:
            raise dg.Failure(description=str(exc), metadata={"run_dir": dg.MetadataValue.path(str(folder))}) from None
    run = Run(run_dir=folder, params=params)
    return dg.Output(str(folder), metadata=_metadata(run))


@dg.asset(group_name=GROUP, kinds={"python", "jupyter"},
          check_specs=[dg.AssetCheckSpec("crawl_complete", asset="crawl",
                                         description="The BI crawl read every page and report: deletions need it.")],
          description="01_crawl: the dbt artifacts and the BI workspace, into a new run folder.")
def crawl(context: dg.AssetExecutionContext, config: ChainConfig, mode: ModeCredentials):
    run_dir = start_run(Path(config.params_path), config.all_overrides())
    context.log.info("run folder %s", run_dir)
    output = _stage(context, str(run_dir), "01_crawl", mode)
    yield output
    record = read_run_record(run_dir)
    complete = bool(record and record.crawl_complete)
    problems = list(record.crawl_problems) if record else ["no run record"]
    yield dg.AssetCheckResult(check_name="crawl_complete", passed=complete, severity=dg.AssetCheckSeverity.ERROR,
                              metadata={"problems": dg.MetadataValue.json(problems[:50]),
                                        "problem_count": dg.MetadataValue.int(len(problems))},
                              description=None if complete else "crawl incomplete: deletions withheld")


@dg.asset(group_name=GROUP, kinds={"python", "jupyter"},
          description="02_merge: the lineage graph (dbt, semantic layer, BI SQL resolved to models).")
def merge(context: dg.AssetExecutionContext, crawl: str) -> dg.Output[str]:
    return _stage(context, crawl, "02_merge")


@dg.asset(group_name=GROUP, kinds={"python", "jupyter"},
          description="03_rank: importance, runtime priority, critical path, run history and trends.")
def rank(context: dg.AssetExecutionContext, merge: str, github: GitHubCredentials) -> dg.Output[str]:
    return _stage(context, merge, "03_rank", github)


@dg.asset(group_name=GROUP, kinds={"python", "jupyter"},
          description="04_cleanup: stale reports, orphan models, exposures; the dry run, or apply; Slack summary.")
def cleanup(context: dg.AssetExecutionContext, rank: str, mode: ModeCredentials, github: GitHubCredentials,
            slack: SlackCredentials) -> dg.Output[str]:
    return _stage(context, rank, "04_cleanup", mode, github, slack)


ASSETS = (crawl, merge, rank, cleanup)
