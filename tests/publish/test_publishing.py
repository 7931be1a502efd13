"""Publishing: a run copied to publish.dir with its index (run_all.py --publish), and the lab run published."""

from __future__ import annotations

import json
import os

import nbformat
import pytest

import run_all
from lineage_utils.errors import ChainError, MetapipelineError
from lineage_utils.publish.lab import publish_lab
from lineage_utils.publish.publish_dir import publish_run
from lineage_utils.publish.record import RunRecord, read_run_record, write_run_record
from tests.test_runner import FIXTURES, write_params


def _run_folder(runs, run_id="20261101T000000Z"):
    run_dir = runs / run_id
    (run_dir / "data").mkdir(parents=True)
    write_run_record(run_dir, RunRecord(run_id=run_id, started_at="2026-11-01T00:00:00+00:00",
                                        finished_at="2026-11-01T00:01:00+00:00", status="complete",
                                        notebooks=("01_crawl",), executed=("01_crawl",)))
    (run_dir / "index.html").write_text("<p>run page</p>")
    (run_dir / "data" / "summary.json").write_text(json.dumps({"models": 3}))
    (run_dir / "data" / "actions.jsonl.lock").write_text("")
    return run_dir


def test_a_run_is_copied_whole_without_locks_or_links_and_indexed(tmp_path):
    run_dir = _run_folder(tmp_path / "runs")
    (tmp_path / "secret.txt").write_text("outside the run")
    os.symlink(tmp_path / "secret.txt", run_dir / "data" / "link.txt")
    copy = publish_run(run_dir, tmp_path / "site")
    assert copy == (tmp_path / "site" / run_dir.name).resolve()
    assert sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*")) == [
        "data", "data/summary.json", "index.html", "run.json"]
    index = (tmp_path / "site" / "index.html").read_text()
    assert f"{run_dir.name}/index.html" in index
    assert [p.name for p in (tmp_path / "site").iterdir() if p.name.startswith(".")] == []  # no staging left


def test_publishing_again_replaces_the_copy_and_keeps_the_others(tmp_path):
    site = tmp_path / "site"
    first, second = _run_folder(tmp_path / "runs"), _run_folder(tmp_path / "runs", "20261102T000000Z")
    publish_run(first, site)
    publish_run(second, site)
    (first / "index.html").write_text("<p>run page, again</p>")
    publish_run(first, site)
    assert (site / first.name / "index.html").read_text() == "<p>run page, again</p>"
    assert (site / second.name / "run.json").is_file()
    index = (site / "index.html").read_text()
    assert first.name in index and second.name in index


def test_a_target_inside_the_run_or_its_runs_folder_or_a_non_run_is_refused(tmp_path):
    run_dir = _run_folder(tmp_path / "runs")
    for target in (run_dir, run_dir / "data" / "site", run_dir.parent):
        with pytest.raises(ChainError, match="publish.dir"):
            publish_run(run_dir, target)
    with pytest.raises(ChainError, match="not a run folder"):
        publish_run(tmp_path / "runs", tmp_path / "site")
    assert not (tmp_path / "site").exists()


@pytest.mark.slow  # notebook kernels
def test_run_all_publish_copies_the_finished_run_and_refreshes_the_index_there(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(run_all, "NOTEBOOKS", ("ok_a", "ok_b"))
    monkeypatch.setattr(run_all, "DEFAULT_NOTEBOOKS_DIR", FIXTURES)
    site = tmp_path / "site"
    code = run_all.main(["--params", str(write_params(tmp_path)), "--only", "ok_b", "--no-progress",
                         "--publish", str(site)])
    assert code == 0, capsys.readouterr().err
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    copy = site / run_dir.name
    assert read_run_record(copy).status == "complete"
    assert (copy / "ok_b.html").is_file() and (copy / "index.html").is_file()
    assert f"{run_dir.name}/index.html" in (site / "index.html").read_text()


def test_resume_refuses_publish(capsys):
    with pytest.raises(SystemExit):
        run_all.main(["--resume", "runs/x", "--publish", "site"])
    assert "--publish" in capsys.readouterr().err


def _saved(notebooks, name, cells):
    notebook = nbformat.v4.new_notebook(cells=cells)
    nbformat.write(notebook, notebooks / f"{name}.ipynb")


def test_the_lab_run_is_published_from_the_saved_notebooks_and_listed(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("run:\n  runs_dir: runs\n")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    ran = nbformat.v4.new_code_cell("print('crawled')", execution_count=1,
                                    outputs=[nbformat.v4.new_output("stream", text="crawled\n")])
    _saved(notebooks, "01_crawl", [nbformat.v4.new_markdown_cell("# 01 · Crawl"), ran])
    _saved(notebooks, "02_merge", [nbformat.v4.new_code_cell("never run")])  # saved but never run: left out
    index = publish_lab(params, notebooks)
    lab = tmp_path / "runs" / "lab"
    assert index == lab / "index.html" and (lab / "01_crawl.html").is_file() and not (lab / "02_merge.html").exists()
    record = read_run_record(lab)
    assert (record.status, record.notebooks) == ("complete", ("01_crawl",))
    runs_index = (tmp_path / "runs" / "index.html").read_text()
    assert "lab/index.html" in runs_index and "lab run" in runs_index and "partial run: 01_crawl" in runs_index
    failed = nbformat.v4.new_code_cell("1/0", execution_count=2, outputs=[nbformat.v4.new_output(
        "error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])])
    _saved(notebooks, "02_merge", [ran, failed])
    publish_lab(params, notebooks)
    record = read_run_record(lab)
    assert (record.status, record.failed_notebook, record.failed_cell) == ("failed", "02_merge", 2)
    assert "ZeroDivisionError" in (lab / "index.html").read_text()


def test_the_lab_run_is_refused_when_nothing_was_run(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("run:\n  runs_dir: runs\n")
    with pytest.raises(MetapipelineError, match="no notebook of the chain was run"):
        publish_lab(params, FIXTURES)
    assert not (tmp_path / "runs" / "lab").exists()


@pytest.mark.slow  # notebook kernels
def test_a_failed_run_is_published_too_and_its_page_says_where(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(run_all, "NOTEBOOKS", ("ok_b", "broken", "never_reached"))
    monkeypatch.setattr(run_all, "DEFAULT_NOTEBOOKS_DIR", FIXTURES)
    site = tmp_path / "site"
    assert run_all.main(["--params", str(write_params(tmp_path)), "--no-progress", "--publish", str(site)]) == 1
    (copy,) = [p for p in site.iterdir() if p.is_dir()]
    record = read_run_record(copy)
    assert (record.status, record.failed_notebook) == ("failed", "broken")
    assert "broken" in (copy / "index.html").read_text() and (copy / "broken.html").is_file()
