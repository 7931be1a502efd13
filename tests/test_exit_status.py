"""`run_all.py`'s exit status: an incomplete BI crawl exits 3 and says so on stderr (issue 13).

Fast tests drive ``run_all.main`` over a stubbed chain and the crawl outcome read from a run
folder; the slow ones run `run_all.py` as a subprocess on the demo with an incomplete crawl.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import run_all
from lineage_utils.publish.record import CrawlOutcome, read_crawl_outcome, read_run_record
from lineage_utils.runner import ChainResult
from tests.conftest import DEMO_PARAMS, MODE_DEMO, MODE_SECRET, MODE_TOKEN, REPO, as_sets, demo_overrides, run_all_cli

MESSAGE = "crawl incomplete: deletions withheld"


def stub_chain(monkeypatch, tmp_path, crawl: CrawlOutcome | None) -> None:
    def fake_run_chain(*args, **kwargs):
        return ChainResult(run_id="r1", run_dir=tmp_path / "r1", executed=("01_crawl",), crawl=crawl)

    monkeypatch.setattr(run_all, "run_chain", fake_run_chain)


def outcome(complete: bool, count: int = 0, withheld: bool = True) -> CrawlOutcome:
    problems = tuple(f"report{i:02d}: HTTP 403 forbidden" for i in range(count))[:10]
    return CrawlOutcome(complete=complete, deletions_withheld=withheld, problems=problems, problem_count=count)


def test_incomplete_crawl_exits_3_naming_the_problems_capped(tmp_path, monkeypatch, capsys):
    stub_chain(monkeypatch, tmp_path, outcome(False, count=25))
    assert run_all.main(["--no-progress"]) == run_all.EXIT_CRAWL_INCOMPLETE == 3
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines[0] == f"{MESSAGE} (25 problems)"
    assert lines[1:11] == [f"  - report{i:02d}: HTTP 403 forbidden" for i in range(10)]
    assert lines[11].startswith("  ... and 15 more: see ") and lines[11].endswith("crawl_status.json")
    assert len(lines) == 12
    assert str(tmp_path / "r1") in captured.out  # the run folder is still printed


def test_complete_crawl_exits_0_silently(tmp_path, monkeypatch, capsys):
    stub_chain(monkeypatch, tmp_path, outcome(True))
    assert run_all.main(["--no-progress"]) == 0
    assert capsys.readouterr().err == ""


def test_no_crawl_status_exits_0(tmp_path, monkeypatch, capsys):
    stub_chain(monkeypatch, tmp_path, None)  # e.g. --only 03_rank
    assert run_all.main(["--no-progress"]) == 0


def test_incomplete_crawl_with_allow_incomplete_still_exits_3(tmp_path, monkeypatch, capsys):
    stub_chain(monkeypatch, tmp_path, outcome(False, count=1, withheld=False))
    assert run_all.main(["--no-progress"]) == 3
    assert "crawl incomplete: deletions proposed anyway (cleanup.allow_incomplete is on) (1 problem)" in \
        capsys.readouterr().err


def test_exit_statuses_are_documented(capsys):
    with pytest.raises(SystemExit):
        run_all.main(["--help"])
    help_text = capsys.readouterr().out
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for code in (0, 1, 2, 3, 130):
        assert f"\n  {code} " in help_text
        assert f"\n| {code} | " in readme
        assert f"\n    {code} " in run_all.__doc__
    assert "incomplete" in help_text and MESSAGE in readme and MESSAGE in run_all.__doc__


def write_crawl_status(run_dir: Path, complete: bool, errors: int, summary: dict | None = None) -> None:
    data = run_dir / "data"
    data.mkdir(parents=True)
    status = {"complete": complete, "source": "mode_api", "origin": "x", "workspace": "w", "captured_at": None,
              "full": True, "errors": [{"target": f"rep{i}", "reason": "HTTP 403", "status": 403}
                                       for i in range(errors)],
              "anomalies": [{"kind": "repeated_page", "target": "space1", "detail": "page 2 = page 1",
                             "incomplete": True}] if not complete else []}
    (data / "crawl_status.json").write_text(json.dumps(status))
    if summary is not None:
        (data / "summary.json").write_text(json.dumps(summary))


def test_crawl_outcome_is_read_from_the_run_folder(tmp_path):
    write_crawl_status(tmp_path / "a", complete=False, errors=12)
    crawl = read_crawl_outcome(tmp_path / "a", allow_incomplete=False)
    assert crawl is not None and not crawl.complete and crawl.deletions_withheld
    assert crawl.problem_count == 13 and len(crawl.problems) == 10
    assert crawl.problems[0] == "rep0: HTTP 403"
    write_crawl_status(tmp_path / "b", complete=False, errors=0, summary={"deletions_withheld": False})
    assert read_crawl_outcome(tmp_path / "b", allow_incomplete=False).problems == (
        "space1: repeated_page: page 2 = page 1",)
    assert read_crawl_outcome(tmp_path / "b", allow_incomplete=False).deletions_withheld is False  # 04 said so
    write_crawl_status(tmp_path / "c", complete=True, errors=0)
    assert read_crawl_outcome(tmp_path / "c", allow_incomplete=False).complete
    assert read_crawl_outcome(tmp_path / "nowhere", allow_incomplete=False) is None
    (tmp_path / "d" / "data").mkdir(parents=True)
    (tmp_path / "d" / "data" / "crawl_status.json").write_text("{broken")
    assert read_crawl_outcome(tmp_path / "d", allow_incomplete=False) is None


# ------------------------------------------------------- the demo chain, as a subprocess

REPORT = "e9a11122b9f7"  # a report of the demo workspace
TOKEN_ENV, SECRET_ENV = "MP_TEST_MODE_TOKEN", "MP_TEST_MODE_SECRET"


def assert_incomplete_run(result: subprocess.CompletedProcess[str], runs: Path, problem: str) -> None:
    assert result.returncode == 3, result.stderr[-3000:]
    assert MESSAGE in result.stderr and problem in result.stderr
    assert "Traceback" not in result.stderr
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "complete"
    assert record["crawl_complete"] is False and record["deletions_withheld"] is True
    status = json.loads((run_dir / "data" / "crawl_status.json").read_text())
    expected = [f"{e['target']}: {e['reason']}" for e in status["errors"] + status["missing"]]
    expected += [f"{a['target']}: {a['kind']}: {a['detail']}" for a in status["anomalies"]]
    assert record["crawl_problems"] == expected and record["crawl_problem_count"] == len(expected)
    assert [problem in p for p in expected] == [True] * len(expected)  # every problem is the one made
    assert MESSAGE in (runs / "index.html").read_text()
    assert MESSAGE in (run_dir / "index.html").read_text()
    assert read_run_record(run_dir).crawl_complete is False


@pytest.mark.slow  # real dbt and notebook kernels
def test_run_all_exits_3_when_a_mode_report_cannot_be_crawled(mode_standin, demo_target, tmp_path):
    mode_standin.deny_report(REPORT, 403)
    runs = tmp_path / "runs"
    overrides = demo_overrides(demo_target, runs) + [
        "bi.source=mode_api", f"bi.base_url={mode_standin.base_url}", f"bi.state_dir={tmp_path / 'state'}",
        "bi.rate_limit=0", "bi.max_retries=1", f"bi.token_env={TOKEN_ENV}", f"bi.secret_env={SECRET_ENV}"]
    env = {**os.environ, TOKEN_ENV: MODE_TOKEN, SECRET_ENV: MODE_SECRET}
    result = subprocess.run([sys.executable, str(REPO / "run_all.py"), "--no-progress", "--params", str(DEMO_PARAMS),
                             *as_sets(overrides)], capture_output=True, text=True, cwd=REPO, timeout=600, env=env)
    assert_incomplete_run(result, runs, REPORT)


@pytest.mark.slow  # real dbt and notebook kernels
def test_run_all_exits_3_when_a_snapshot_report_has_no_queries_file(demo_target, tmp_path):
    snapshot = tmp_path / "mode_workspace"
    shutil.copytree(MODE_DEMO, snapshot)
    (snapshot / "reports" / REPORT / "queries.json").unlink()
    runs = tmp_path / "runs"
    result = run_all_cli("--params", str(DEMO_PARAMS),
                         *as_sets(demo_overrides(demo_target, runs) + [f"bi.snapshot_dir={snapshot}"]))
    assert_incomplete_run(result, runs, REPORT)
