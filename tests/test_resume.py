"""`run_all.py --resume RUN_DIR`: an interrupted run finishes in its own folder, under its own params."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import run_all_cli

pytestmark = pytest.mark.slow


def interrupted_copy(published_demo_run, tmp_path, executed: list[str]):
    """A copy of the published demo run as if it had been killed during ``executed[-1]``."""
    run_dir = tmp_path / "runs" / published_demo_run.name
    shutil.copytree(published_demo_run, run_dir)
    record = json.loads((run_dir / "run.json").read_text())
    record.update(status="interrupted", executed=executed, finished_at=None, interruption="killed")
    (run_dir / "run.json").write_text(json.dumps(record))
    for name in record["notebooks"][len(executed) - 1:]:
        (run_dir / f"{name}.ipynb").unlink()
        (run_dir / f"{name}.html").unlink()
    return run_dir


def test_resume_runs_the_interrupted_notebook_and_the_rest_keeping_the_others(published_demo_run, tmp_path):
    run_dir = interrupted_copy(published_demo_run, tmp_path, ["01_crawl", "02_merge", "03_rank"])
    kept = {name: (run_dir / f"{name}.ipynb").read_bytes() for name in ("01_crawl", "02_merge")}
    result = run_all_cli("--resume", str(run_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "complete" and record["executed"] == record["notebooks"]
    assert all((run_dir / f"{n}.html").is_file() for n in ("03_rank", "04_cleanup"))
    assert {name: (run_dir / f"{name}.ipynb").read_bytes() for name in kept} == kept
    assert str(run_dir) in result.stdout and not list(run_dir.parent.glob("2*T*Z-*"))  # no new run folder


def test_resume_refuses_other_options_and_a_folder_that_is_not_a_run(tmp_path):
    usage = run_all_cli("--resume", str(tmp_path), "--set", "cleanup.apply=true")
    assert usage.returncode == 2 and "--resume" in usage.stderr
    missing = run_all_cli("--resume", str(tmp_path))
    assert missing.returncode == 1 and "not a run folder to resume" in missing.stderr and str(tmp_path) in missing.stderr
