"""metapipeline under Dagster: the four stage assets, materialised in process on the demo."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import DEMO_PARAMS, MODE_DEMO, MODE_SECRET, MODE_TOKEN, as_sets, demo_overrides, run_all_cli

dg = pytest.importorskip("dagster", reason="the dagster extra is not installed (pip install -e '.[dagster]'; "
                                           "make test installs it)")

from lineage_utils.dagster import defs, manifest_changed  # noqa: E402
from lineage_utils.dagster.assets import ASSETS, ChainConfig  # noqa: E402
from lineage_utils.dagster.resources import (GitHubCredentials, ModeCredentials, SlackCredentials,  # noqa: E402
                                             credentials_in_env, default_resources)
from lineage_utils.params import load_params  # noqa: E402

STAMP = re.compile(r"\d{8}T\d{6}Z|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?")


def materialise(overrides: list[str], resources=None, **config):
    return dg.materialize(list(ASSETS), resources=resources or default_resources({}),
                          instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
                          run_config={"ops": {"crawl": {"config": {"params_path": str(DEMO_PARAMS),
                                                                   "overrides": overrides, **config}}}})


def metadata(result) -> dict[str, dict]:
    return {e.materialization.asset_key.path[-1]: {k: v.value for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}


def normalised(text: str, runs_dirs: tuple[str, ...]) -> str:
    for path in runs_dirs:  # as written, and as Markdown escapes it in pr_body.md
        text = text.replace(path, "<runs>").replace(path.replace("_", "\\_"), "<runs>")
    return STAMP.sub("<time>", text)


def folder_contents(run_dir, other) -> dict[str, object]:
    """Every file of the run folder, with timestamps, the run id and the runs folder replaced; run.json and pages
    only by name (they carry kernel timings and ids)."""
    out: dict[str, object] = {}
    for path in sorted(run_dir.rglob("*")):
        name = str(path.relative_to(run_dir))
        if path.is_dir() or path.suffix in (".html", ".ipynb", ".lock") or name == "run.json":
            out[name] = None
        elif path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            out[name] = normalised(frame.to_json(orient="records", date_format="iso"), (str(run_dir.parent), str(other.parent)))
        else:
            out[name] = normalised(path.read_text(encoding="utf-8"), (str(run_dir.parent), str(other.parent)))
    return out


@pytest.mark.slow
def test_the_four_assets_materialise_the_same_run_folder_as_run_all(demo_target, published_demo_run, tmp_path,
                                                                      demo_expected):
    runs = tmp_path / "runs"
    result = materialise(demo_overrides(demo_target, runs))
    assert result.success
    meta = metadata(result)
    assert list(meta) == ["crawl", "merge", "rank", "cleanup"]
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    assert all(m["run_dir"] == str(run_dir) and m["report"] == str(run_dir / "index.html") for m in meta.values())
    assert meta["crawl"]["crawl_complete"] is True and meta["crawl"]["reports"] > 0
    assert meta["merge"]["models"] == demo_expected["counts"]["models"] and 0 < meta["merge"]["ref_resolution_rate"] <= 1
    assert meta["rank"]["critical_path_seconds"] > 0
    assert meta["cleanup"]["orphan_models"] == len(demo_expected["orphan_models"])
    assert meta["cleanup"]["stale_reports"] == len(demo_expected["stale_reports"])
    assert meta["cleanup"]["deletions_withheld"] is False
    (check,) = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("crawl_complete", True)
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "complete" and record["executed"] == ["01_crawl", "02_merge", "03_rank", "04_cleanup"]
    ours, theirs = folder_contents(run_dir, published_demo_run), folder_contents(published_demo_run, run_dir)
    assert sorted(ours) == sorted(theirs)
    assert {k for k in ours if ours[k] != theirs[k]} == set()


@pytest.mark.slow
def test_an_incomplete_crawl_fails_the_check_and_cleanup_still_runs_withholding_deletions(demo_target, tmp_path,
                                                                                           monkeypatch):
    from lineage_utils.testing import ModeStandIn

    denied, token_env, secret_env = "e9a11122b9f7", "MP_TEST_DAGSTER_TOKEN", "MP_TEST_DAGSTER_SECRET"
    monkeypatch.delenv(token_env, raising=False)  # the credentials come from the resource, nowhere else
    monkeypatch.delenv(secret_env, raising=False)
    runs = tmp_path / "runs"
    with ModeStandIn(MODE_DEMO, token=MODE_TOKEN, secret=MODE_SECRET) as standin:
        standin.deny_report(denied, 403)
        overrides = [*demo_overrides(demo_target, runs), "bi.source=mode_api", f"bi.base_url={standin.base_url}",
                     f"bi.state_dir={tmp_path / 'state'}", "bi.rate_limit=1000", "bi.max_retries=1",
                     f"bi.token_env={token_env}", f"bi.secret_env={secret_env}"]
        resources = {**default_resources({}), "mode": ModeCredentials(token=MODE_TOKEN, secret=MODE_SECRET)}
        result = materialise(overrides, resources)
    assert result.success  # a failing check does not fail the run
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "crawl_complete" and not check.passed
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert any(denied in problem for problem in check.metadata["problems"].value)
    meta = metadata(result)
    assert list(meta) == ["crawl", "merge", "rank", "cleanup"]
    assert meta["crawl"]["crawl_complete"] is False and meta["cleanup"]["deletions_withheld"] is True
    assert token_env not in os.environ  # restored after each stage
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert MODE_SECRET.encode() not in path.read_bytes(), path


@pytest.mark.slow
def test_a_broken_manifest_fails_the_crawl_as_run_all_does_and_nothing_downstream_runs(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text('{"metadata":\n {oops')
    overrides = ["dbt.build=false", f"dbt.target_dir={tmp_path / 'broken'}"]
    result = materialise(overrides + [f"run.runs_dir={tmp_path / 'dagster-runs'}"])
    assert not result.success
    assert metadata(result) == {}  # crawl failed; merge, rank and cleanup never ran
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "crawl"
    told = failure.step_failure_data.user_failure_data.description
    cli = run_all_cli("--params", str(DEMO_PARAMS), *as_sets(overrides + [f"run.runs_dir={tmp_path / 'cli-runs'}"]))
    assert cli.returncode == 1
    said = cli.stderr.strip().splitlines()[-1].removeprefix("error: ")
    message = "broken/manifest.json: malformed JSON at line 2, column 3"
    assert message in told and message in said
    assert told.split(" -- see ")[0] == said.split(" -- see ")[0]  # the same words, but for the run folder
    (run_dir,) = [p for p in (tmp_path / "dagster-runs").iterdir() if p.is_dir()]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "failed"


def test_the_definitions_validate_with_dagsters_own_command(tmp_path):
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # nothing leaves the machine
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "DAGSTER_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    done = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-m", "lineage_utils.dagster"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Validation successful for code location lineage_utils.dagster" in done.stderr + done.stdout


def test_the_schedule_and_sensor_are_there_and_off_by_default():
    schedule = defs.resolve_schedule_def("metapipeline_daily")
    assert schedule.cron_schedule == "0 6 * * *" and schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert defs.resolve_sensor_def("manifest_changed").default_status == dg.DefaultSensorStatus.STOPPED
    job = defs.resolve_job_def("metapipeline")
    assert {n.name for n in job.graph.node_defs} == {"crawl", "merge", "rank", "cleanup"}


def test_the_apply_switches_are_run_config_and_off_by_default():
    assert ChainConfig().all_overrides() == ["cleanup.apply=false"]
    on = ChainConfig(apply=True, apply_kinds=["deletion_pr", "exposures_pr"], overrides=["staleness.last_run_days=30"])
    assert on.all_overrides() == ["staleness.last_run_days=30", "cleanup.apply=true",
                                  "cleanup.apply_kinds=[deletion_pr, exposures_pr]"]
    params = load_params(DEMO_PARAMS, on.all_overrides() + ["github.repo=o/r", "git.remote=origin"])
    assert params["cleanup.apply"] is True and params["cleanup.apply_kinds"] == ["deletion_pr", "exposures_pr"]


def test_credentials_reach_the_variables_the_params_name_only_while_a_stage_runs(monkeypatch, tmp_path):
    monkeypatch.delenv("MP_TEST_GH", raising=False)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "http://127.0.0.1:9/hook-before")
    params = load_params(DEMO_PARAMS, ["github.token_env=MP_TEST_GH"])
    github = GitHubCredentials(token="standin-github-token")
    slack = SlackCredentials(webhook_url="http://127.0.0.1:9/hook-resource")
    with credentials_in_env(params, ModeCredentials(), github, slack) as names:
        assert names == ["MP_TEST_GH", "SLACK_WEBHOOK_URL"]
        assert os.environ["MP_TEST_GH"] == "standin-github-token"
        assert os.environ["SLACK_WEBHOOK_URL"] == "http://127.0.0.1:9/hook-resource"
    assert "MP_TEST_GH" not in os.environ and os.environ["SLACK_WEBHOOK_URL"] == "http://127.0.0.1:9/hook-before"


def test_resources_bind_only_the_variables_that_are_set():
    bound = default_resources({"GITHUB_TOKEN": "x"})
    assert isinstance(bound["github"].token, dg.EnvVar) and bound["github"].token.env_var_name == "GITHUB_TOKEN"
    assert bound["mode"].token is None and bound["slack"].webhook_url is None


def test_the_sensor_runs_when_the_manifest_changes_not_when_it_is_only_touched(tmp_path, monkeypatch):
    target = tmp_path / "target"
    target.mkdir()
    (target / "manifest.json").write_text('{"a": 1}')
    params = tmp_path / "p.yaml"
    params.write_text(f"dbt:\n  target_dir: {target}\n")
    monkeypatch.setenv("METAPIPELINE_PARAMS", str(params))
    first = manifest_changed(dg.build_sensor_context())
    assert isinstance(first, dg.SkipReason) and "watching" in first.skip_message
    cursor = dg.build_sensor_context(cursor=hashlib.sha256(b'{"a": 1}').hexdigest())
    assert "unchanged" in manifest_changed(cursor).skip_message
    (target / "manifest.json").write_text('{"a": 2}')
    request = manifest_changed(cursor)
    assert isinstance(request, dg.RunRequest) and request.run_key


def test_the_sensor_skips_naming_the_key_when_there_is_no_target(tmp_path, monkeypatch):
    params = tmp_path / "p.yaml"
    params.write_text("dbt:\n  target_dir: ''\n")
    monkeypatch.setenv("METAPIPELINE_PARAMS", str(params))
    skipped = manifest_changed(dg.build_sensor_context())
    assert isinstance(skipped, dg.SkipReason) and "params key 'dbt.target_dir' is empty" in skipped.skip_message
