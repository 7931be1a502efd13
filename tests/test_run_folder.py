"""Run-folder contracts: named artifacts, schema versions, atomic writes."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from lineage_utils.errors import ArtifactError
from lineage_utils.params import build_params
from lineage_utils.run_folder import ARTIFACTS, Run


@pytest.fixture
def run(tmp_path) -> Run:
    return Run(run_dir=tmp_path / "r1", params=build_params({}, tmp_path))


def test_frame_round_trip(run):
    frame = pd.DataFrame({"a": [1, 2], "b": [["x"], []]})
    run.write_frame("reports", frame)
    back = run.read_frame("reports")
    assert back["a"].tolist() == [1, 2] and list(back["b"][0]) == ["x"]


def test_missing_artifact_names_the_notebook_that_writes_it(run):
    with pytest.raises(ArtifactError, match="lineage.json: missing; it is written by 02_merge"):
        run.read_json("lineage")


def test_schema_version_mismatch_is_refused(run):
    run.write_json("crawl_status", {"complete": True})
    path = run.path("crawl_status")
    path.write_text(path.read_text().replace('"schema_version": 1', '"schema_version": 99'))
    with pytest.raises(ArtifactError, match="schema version 99, expected 1"):
        run.read_json("crawl_status")


def test_unknown_artifact_name(run):
    with pytest.raises(KeyError, match="unknown run artifact"):
        run.path("nope")


def test_failed_write_keeps_the_old_file(run, monkeypatch):
    run.write_text("exposures", "old\n")
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        run.write_text("exposures", "new\n")
    monkeypatch.undo()
    assert run.read_text("exposures") == "old\n"
    assert [p.name for p in run.data_dir.iterdir()] == ["exposures.yml"]


def test_files_are_readable_by_others(run):
    old = os.umask(0o022)
    try:
        path = run.write_text("exposures", "x\n")
    finally:
        os.umask(old)
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_summary_merges(run):
    run.update_summary(models=3)
    assert run.update_summary(orphans=1) == {"models": 3, "orphans": 1}


def test_every_chain_file_of_design_is_a_contract():
    files = {a.filename for a in ARTIFACTS.values()}
    assert {"bi_snapshot.json", "reports.parquet", "queries.parquet", "dbt_nodes.parquet", "dbt_edges.parquet",
            "crawl_status.json", "query_refs.parquet", "lineage.json", "centrality.parquet",
            "stale_reports.parquet", "orphan_models.parquet", "exposures.yml", "actions.jsonl",
            "cleanup.patch"} <= files
