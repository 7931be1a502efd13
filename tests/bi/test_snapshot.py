"""Mode snapshot reader: real recorded shapes, the demo folder, and bad files."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from lineage_utils.bi.snapshot import load_snapshot_dir, parse_bundle, parse_timestamp, read_snapshot
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
    # no datasets listing was recorded for the Personal space: the layout requires one, so write it empty
    (folder / "spaces" / "157933cc1168" / "datasets.json").write_text(json.dumps({"_embedded": {"reports": []}}))
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
    assert dataset.is_dataset and dataset.archived is None  # no `archived` key in the capture: unknown
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
    assert [s.token for s in snap.spaces.values() if s.space_type == "private"] == ["2d1c99ec8d9c"]  # Dana's
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


# -- completeness comes from the layout (defect 10) ----------------------------------------
def _space_with_reports(folder: Path) -> Path:
    return next(p for p in sorted((folder / "spaces").iterdir())
                if json.loads((p / "reports.json").read_text())["_embedded"]["reports"])


def test_demo_snapshot_reads_complete(repo_root):
    bundle, status = read_snapshot(repo_root / "demo" / "mode_workspace")
    assert status.complete and status.missing == () and status.source == "snapshot"
    assert status.reports == len(bundle["reports"])


def test_missing_reports_listing_makes_the_crawl_incomplete(demo_copy):
    space = _space_with_reports(demo_copy)
    listed = {r["token"] for r in json.loads((space / "reports.json").read_text())["_embedded"]["reports"]}
    (space / "reports.json").unlink()
    bundle, status = read_snapshot(demo_copy)
    assert not status.complete
    assert [m.target for m in status.missing] == [str(space / "reports.json")]
    assert "reports.json listing of space" in status.missing[0].reason
    assert not listed & {r["token"] for r in bundle["reports"]}  # left out, and said so


def test_missing_reports_listing_is_not_read_as_empty(demo_copy):
    space = _space_with_reports(demo_copy)
    (space / "reports.json").unlink()
    with pytest.raises(ArtifactError, match=rf"{space.name}/reports.json: file not found"):
        load_snapshot_dir(demo_copy)


@pytest.mark.parametrize("relative", ["data_sources.json", "definitions.json", "spaces/{space}/datasets.json"])
def test_each_required_file_is_named_when_missing(demo_copy, relative):
    path = demo_copy / relative.format(space=_space_with_reports(demo_copy).name)
    path.unlink()
    _, status = read_snapshot(demo_copy)
    assert not status.complete and [m.target for m in status.missing] == [str(path)]


def test_missing_queries_file_marks_the_crawl_incomplete(demo_copy):
    victim = sorted((demo_copy / "reports").iterdir())[0]
    shutil.rmtree(victim)
    bundle, status = read_snapshot(demo_copy)
    assert not status.complete and victim.name not in bundle["queries"]
    assert status.missing[0].target == str(victim / "queries.json")


def test_gzipped_files_read_like_plain_ones(demo_copy):
    for path in [demo_copy / "spaces.json", *sorted((demo_copy / "reports").glob("*/queries.json"))]:
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    assert read_snapshot(demo_copy)[1].complete
    assert len(load_snapshot_dir(demo_copy).queries) > 0


# -- one ArtifactError naming the file and the key per shape error (defect 14) --------------
def _first_listing(folder: Path) -> Path:
    return _space_with_reports(folder) / "reports.json"


def _edit_first_report(folder: Path, **changes) -> Path:
    listing = _first_listing(folder)
    doc = json.loads(listing.read_text())
    doc["_embedded"]["reports"][0].update(changes)
    listing.write_text(json.dumps(doc))
    return listing


@pytest.mark.parametrize("document, key", [
    ({"_embedded": {"reports": ["e9a11122b9f7"]}}, r"_embedded.reports\[0\]"),
    ({"_embedded": {"reports": {"token": "x"}}}, "_embedded.reports"),
    (["not", "a", "listing"], "_embedded"),
    ("just text", "_embedded"),
])
def test_listing_shape_errors_name_file_and_key(demo_copy, document, key):
    listing = _first_listing(demo_copy)
    listing.write_text(json.dumps(document))
    with pytest.raises(ArtifactError, match=rf"{listing}: .*'{key}"):
        read_snapshot(demo_copy)


@pytest.mark.parametrize("changes, key", [
    ({"imported_datasets": "abc"}, "imported_datasets"),
    ({"imported_datasets": ["abc"]}, r"imported_datasets\[0\]"),
    ({"_links": ["self"]}, "_links"),
    ({"created_at": {"when": "now"}}, "created_at"),
    ({"last_run_at": "yesterday"}, "last_run_at"),
    ({"token": "../../etc"}, "token"),
    ({"name": ["a"]}, "name"),
])
def test_report_field_errors_name_file_and_key(demo_copy, changes, key):
    listing = _edit_first_report(demo_copy, **changes)
    with pytest.raises(ArtifactError, match=rf"{listing}: key '_embedded.reports\[0\].{key}'"):
        read_snapshot(demo_copy)


def test_user_file_that_is_a_list_names_the_file(demo_copy):
    user = sorted((demo_copy / "users").glob("*.json"))[0]
    user.write_text("[1, 2]")
    with pytest.raises(ArtifactError, match=rf"{user}: key '\(top level\)': expected an object, got list"):
        read_snapshot(demo_copy)


@pytest.mark.parametrize("payload", [b"not gzip at all", gzip.compress(b'{"_embedded": {}}', mtime=0)[:12] + b"\xff" * 40,
                                     gzip.compress(b'{"_embedded": {}}', mtime=0)[:-6], gzip.compress(b"\xff\xfe{", mtime=0)],
                         ids=["not gzip", "corrupt deflate", "truncated", "not utf-8"])
def test_gzip_garbage_names_the_file(demo_copy, payload):
    listing = _first_listing(demo_copy)
    listing.unlink()
    packed = listing.with_name("reports.json.gz")
    packed.write_bytes(payload)
    with pytest.raises(ArtifactError, match=rf"{packed}: "):
        read_snapshot(demo_copy)


def test_plain_and_gzipped_copies_of_one_file_are_refused(demo_copy):
    listing = _first_listing(demo_copy)
    listing.with_name("reports.json.gz").write_bytes(gzip.compress(listing.read_bytes()))
    with pytest.raises(ArtifactError, match=rf"{listing}: both reports.json and reports.json.gz exist"):
        read_snapshot(demo_copy)


@pytest.mark.parametrize("bundle, key", [
    ([], r"\(top level\)"),
    ({"format": "metapipeline.mode_snapshot", "reports": {"a": 1}}, "reports"),
    ({"format": "metapipeline.mode_snapshot", "queries": {"r1": "SELECT 1"}}, "queries.r1"),
    ({"format": "metapipeline.mode_snapshot", "users": {"ana": [1]}}, "users.ana"),
])
def test_bundle_shape_errors_name_the_key(bundle, key):
    with pytest.raises(ArtifactError, match=rf"bi_snapshot.json: key '{key}'"):
        parse_bundle(bundle, origin="bi_snapshot.json")
