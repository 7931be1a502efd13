"""Run-folder contracts: named artifacts, schema versions, atomic writes."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from lineage_utils.errors import ArtifactError
from lineage_utils.params import build_params
from lineage_utils.params import SPECS
from lineage_utils.run_folder import ARTIFACTS, OUTSIDE_THE_CHAIN, STAGES, Run, first_reader, params_digest, stage_params


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
    assert sorted(p.name for p in run.data_dir.iterdir()) == [".exposures.yml.provenance.json", "exposures.yml"]


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


# -- provenance: the params each artifact was made under ---------------------------------------
def with_params(run: Run, tmp_path, **sections) -> Run:
    return Run(run_dir=run.run_dir, params=build_params(sections, tmp_path))


def test_every_params_key_but_run_and_slack_belongs_to_a_stage():
    unassigned = [key for key in SPECS if not key.startswith(OUTSIDE_THE_CHAIN) and first_reader(key) not in STAGES]
    assert unassigned == []
    assert [key for key in SPECS if key.startswith(OUTSIDE_THE_CHAIN) and first_reader(key) is not None] == []
    assert first_reader("bi.data_sources") == "02_merge" and first_reader("bi.workers") == "01_crawl"


@pytest.mark.parametrize(("name", "write"), [
    ("reports", lambda r: r.write_frame("reports", pd.DataFrame({"a": [1]}))),
    ("crawl_status", lambda r: r.write_json("crawl_status", {"complete": True})),
    ("exposures", lambda r: r.write_text("exposures", "x\n")),
    ("actions", lambda r: r.write_jsonl("actions", [{"a": 1}])),
])
def test_each_format_records_its_stage_and_params_digest(run, name, write):
    write(run)
    made = run.provenance(name)
    assert made is not None and made.stage == ARTIFACTS[name].written_by
    assert made.params_digest == params_digest(run.params, made.stage)
    assert made.params == stage_params(run.params, made.stage)


def test_a_stage_is_current_when_its_params_did_not_change(run, tmp_path):
    run.write_frame("centrality", pd.DataFrame({"a": [1]}))
    run.write_frame("priorities", pd.DataFrame({"a": [1]}))
    run.write_frame("trend", pd.DataFrame({"a": [1]}))
    assert run.outdated("03_rank") is None
    later = with_params(run, tmp_path, cleanup={"allow_incomplete": True})  # read first by 04 only
    assert later.outdated("03_rank") is None


def test_a_changed_param_outdates_its_stage_and_names_the_change(run, tmp_path):
    run.write_json("lineage", {"nodes": []})
    run.write_frame("query_refs", pd.DataFrame({"a": [1]}))
    changed = with_params(run, tmp_path, staleness={"last_run_days": 365})
    assert changed.outdated("02_merge") == (
        "query_refs.parquet was made under other params (staleness.last_run_days: 100 -> 365)")


def test_an_earlier_stage_s_param_outdates_the_later_stages(run, tmp_path):
    run.write_frame("centrality", pd.DataFrame({"a": [1]}))
    run.write_frame("priorities", pd.DataFrame({"a": [1]}))
    changed = with_params(run, tmp_path, bi={"workspace": "other"})
    assert "bi.workspace: '' -> 'other'" in changed.outdated("03_rank")


def test_missing_outputs_or_provenance_outdate_a_stage(run):
    assert run.outdated("03_rank") == "its output centrality.parquet is missing"
    run.data_dir.mkdir(parents=True)
    (run.data_dir / "centrality.parquet").write_bytes(b"not parquet")
    assert run.outdated("03_rank") == "centrality.parquet records no params digest"
