"""The chain with `bi.source: mode_api` against the stand-in: completeness gates, no secret leaks."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from lineage_utils import stages
from lineage_utils.bi.status import CrawlStatus
from lineage_utils.publish import views
from lineage_utils.params import load_params
from lineage_utils.run_folder import Run
from tests.conftest import DEMO_PARAMS, MODE_SECRET, MODE_TOKEN, REPO, demo_overrides
from tests.demo_findings import differences

REPORT = "e9a11122b9f7"
TOKEN_ENV, SECRET_ENV = "MP_TEST_MODE_TOKEN", "MP_TEST_MODE_SECRET"


def mode_overrides(standin, tmp_path) -> list[str]:
    return ["bi.source=mode_api", f"bi.base_url={standin.base_url}", f"bi.state_dir={tmp_path / 'state'}",
            "bi.rate_limit=0", "bi.max_retries=1", "bi.workers=4", f"bi.token_env={TOKEN_ENV}",
            f"bi.secret_env={SECRET_ENV}"]


@pytest.fixture
def mode_env(monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, MODE_TOKEN)
    monkeypatch.setenv(SECRET_ENV, MODE_SECRET)


def run_in_process(standin, demo_target, tmp_path, *extra: str) -> Run:
    params = load_params(DEMO_PARAMS, demo_overrides(demo_target, tmp_path / "runs")
                         + mode_overrides(standin, tmp_path) + list(extra))
    run = Run(run_dir=tmp_path / "runs" / "mode", params=params)
    run.data_dir.mkdir(parents=True)
    return run


@pytest.mark.slow
def test_complete_crawl_reports_its_figures(mode_standin, mode_env, demo_target, tmp_path, demo_expected):
    run = run_in_process(mode_standin, demo_target, tmp_path)
    result = stages.crawl(run)
    status = run.read_json("crawl_status")
    assert status["complete"] is True and status["source"] == "mode_api"
    assert status["requests_made"] == mode_standin.requests
    assert (status["spaces"], status["reports"]) == (demo_expected["counts"]["spaces"],
                                                     demo_expected["counts"]["reports"])
    assert run.read_json("summary")["crawl_complete"] is True
    assert "Crawl complete" in views.crawl_status(result.status)._repr_html_()


@pytest.mark.slow
def test_chain_over_the_mode_api_finds_exactly_the_expected_answers(mode_standin, mode_env, demo_target, tmp_path,
                                                                     demo_expected):
    run = run_in_process(mode_standin, demo_target, tmp_path)
    for stage in stages.STAGES:
        stages.RUNNERS[stage](run)
    assert differences(run, demo_expected) == {}


@pytest.mark.slow
def test_missing_credentials_stop_the_crawl_naming_the_variable(mode_standin, monkeypatch, demo_target, tmp_path):
    from lineage_utils.errors import ArtifactError

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    run = run_in_process(mode_standin, demo_target, tmp_path)
    with pytest.raises(ArtifactError, match=TOKEN_ENV):
        stages.crawl(run)
    assert mode_standin.requests == 0


@pytest.mark.slow
def test_incomplete_crawl_withholds_deletions(mode_standin, mode_env, demo_target, tmp_path):
    mode_standin.deny_report(REPORT, 403)
    run = run_in_process(mode_standin, demo_target, tmp_path)
    crawled = stages.crawl(run)
    status = run.read_json("crawl_status")
    assert status["complete"] is False
    assert [(e["target"], e["status"]) for e in status["errors"]] == [(REPORT, 403)]
    assert run.read_json("summary")["crawl_complete"] is False
    markup = views.crawl_status(crawled.status)._repr_html_()
    assert "INCOMPLETE" in markup and REPORT in markup
    stages.merge(run)
    stages.rank(run)
    cleanup = stages.cleanup(run)
    assert cleanup.withheld and "incomplete" in cleanup.withheld
    deletions = [a for a in cleanup.actions if a.action == "delete_model"]  # recorded, each refused by the gate
    assert {(a.result, a.reason) for a in deletions} <= {("refused", "crawl_incomplete")}
    assert run.read_text("cleanup_patch") == ""


def test_crawl_status_view_escapes_outside_text():
    status = CrawlStatus.from_dict({
        "complete": False, "source": "mode_api", "origin": "x", "workspace": "w", "captured_at": None,
        "full": True, "errors": [{"target": "<b>r</b>", "reason": "<script>alert(1)</script>", "status": 403}],
        "anomalies": [{"kind": "repeated_page", "target": "<i>s</i>", "detail": "<img>", "incomplete": True}],
        "requests_made": 3})
    markup = views.crawl_status(status)._repr_html_()
    assert "<script>" not in markup and "<img>" not in markup and "<i>s</i>" not in markup
    assert "&lt;script&gt;" in markup


@pytest.mark.slow
def test_run_all_with_mode_api_leaks_no_credentials(mode_standin, demo_target, tmp_path):
    runs = tmp_path / "runs"
    env = {**os.environ, TOKEN_ENV: MODE_TOKEN, SECRET_ENV: MODE_SECRET}
    overrides = demo_overrides(demo_target, runs) + mode_overrides(mode_standin, tmp_path)
    result = subprocess.run(
        [sys.executable, str(REPO / "run_all.py"), "--no-progress", "--params", str(DEMO_PARAMS),
         *[arg for item in overrides for arg in ("--set", item)]],
        capture_output=True, text=True, cwd=REPO, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    status = json.loads((run_dir / "data" / "crawl_status.json").read_text())
    assert status["complete"] is True and status["source"] == "mode_api"
    assert (run_dir / "01_crawl.html").is_file() and (run_dir / "01_crawl.ipynb").is_file()
    basic = base64.b64encode(f"{MODE_TOKEN}:{MODE_SECRET}".encode())
    scanned = 0
    for folder in (runs, tmp_path / "state"):
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                scanned += 1
                for secret in (MODE_SECRET.encode(), MODE_TOKEN.encode(), basic):
                    assert secret not in data, f"{path} holds a credential"
    assert scanned > 20
    for output in (result.stdout, result.stderr):
        assert MODE_SECRET not in output and MODE_TOKEN not in output
