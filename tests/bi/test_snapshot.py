"""Mode snapshot reader: real recorded shapes, the demo folder, and bad files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lineage_utils.bi.snapshot import load_snapshot_dir, parse_timestamp
from lineage_utils.errors import ArtifactError


@pytest.fixture
def recorded_snapshot(shared_data, tmp_path) -> Path:
    """The recorded Mode responses laid out as a snapshot folder (in tmp, never in the repo)."""
    rec = shared_data / "mode" / "recorded"
    folder = tmp_path / "ws"
    (folder / "spaces" / "75737b70402e").mkdir(parents=True)
    (folder / "spaces" / "157933cc1168").mkdir(parents=True)
    shutil.copy(rec / "spaces.json", folder / "spaces.json")
    shutil.copy(rec / "reports_75737b70402e.json", folder / "spaces" / "75737b70402e" / "reports.json")
    shutil.copy(rec / "datasets_75737b70402e.json", folder / "spaces" / "75737b70402e" / "datasets.json")
    shutil.copy(rec / "reports_157933cc1168.json", folder / "spaces" / "157933cc1168" / "reports.json")
    for token, name in (("9d2da37fa91e", "queries.json"), ("24f66e1701b6", "dataset_queries_24f66e1701b6.json")):
        (folder / "reports" / token).mkdir(parents=True)
        shutil.copy(rec / name, folder / "reports" / token / "queries.json")
    shutil.copy(rec / "data_sources.json", folder / "data_sources.json")
    shutil.copy(rec / "definitions.json", folder / "definitions.json")
    (folder / "workspace.json").write_text(json.dumps({"workspace": "acryltest"}))
    return folder


def test_recorded_shapes_parse(recorded_snapshot):
    snap = load_snapshot_dir(recorded_snapshot)
    assert set(snap.reports) == {"9d2da37fa91e", "24f66e1701b6"}
    report = snap.reports["9d2da37fa91e"]
    assert report.runs_count == 27 and report.view_count == 6 and not report.archived
    assert report.web_url == "https://app.mode.com/acryltest/reports/9d2da37fa91e"
    dataset = snap.reports["24f66e1701b6"]
    assert dataset.is_dataset and dataset.archived is False  # no `archived` key in the capture
    assert "24f66e1701b6" in report.imported_datasets
    assert snap.data_sources["34499"].adapter == "jdbc:postgresql"


def test_recorded_definitions_unescape(recorded_snapshot):
    snap = load_snapshot_dir(recorded_snapshot)
    for definition in snap.definitions.values():
        assert "\\n" not in definition.source and "\\t" not in definition.source


def test_demo_workspace(repo_root, demo_expected):
    snap = load_snapshot_dir(repo_root / "demo" / "mode_workspace")
    assert len(snap.reports) == demo_expected["counts"]["reports"]
    assert len(snap.queries) == demo_expected["counts"]["queries"]
    assert any(s.space_type == "private" for s in snap.spaces.values())
    for report in snap.reports.values():
        assert report.query_count == sum(q.report_token == report.token for q in snap.queries)


@pytest.mark.parametrize("text, expected", [
    ("2021-12-10T20:55:24.316Z", "2021-12-10T20:55:24.316000+00:00"),
    ("2021-12-10T20:55:24+02:00", "2021-12-10T18:55:24+00:00"),
    ("2021-12-10T20:55:24", "2021-12-10T20:55:24+00:00"),
])
def test_timestamps(text, expected):
    assert parse_timestamp(text).isoformat() == expected


def test_null_timestamp_and_name(tmp_path, repo_root):
    folder = tmp_path / "ws"
    shutil.copytree(repo_root / "demo" / "mode_workspace", folder)
    listing = next((folder / "spaces").glob("*/reports.json"))
    doc = json.loads(listing.read_text())
    doc["_embedded"]["reports"][0].update(name=None, last_run_at=None, runs_count="3")
    listing.write_text(json.dumps(doc))
    report = load_snapshot_dir(folder).reports[doc["_embedded"]["reports"][0]["token"]]
    assert report.last_run_at is None and report.runs_count == 3 and report.name.startswith("(untitled")


def test_missing_queries_file_names_report(tmp_path, repo_root):
    folder = tmp_path / "ws"
    shutil.copytree(repo_root / "demo" / "mode_workspace", folder)
    victim = sorted((folder / "reports").iterdir())[0]
    shutil.rmtree(victim)
    with pytest.raises(ArtifactError, match=f"queries of report {victim.name} are missing"):
        load_snapshot_dir(folder)


def test_malformed_listing_names_file(tmp_path, repo_root):
    folder = tmp_path / "ws"
    shutil.copytree(repo_root / "demo" / "mode_workspace", folder)
    (folder / "spaces.json").write_text("{\n  \"_embedded\": [,\n")
    with pytest.raises(ArtifactError, match=r"spaces.json: malformed JSON at line 2"):
        load_snapshot_dir(folder)
