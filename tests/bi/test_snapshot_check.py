"""The snapshot layout schema (package data) and ``python -m lineage_utils.bi.snapshot --check`` (defect 10)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from lineage_utils.bi.snapshot import main
from lineage_utils.bi.snapshot_layout import check_snapshot_dir, layout, load_schema
from lineage_utils.bi.types import Where, read_report
from lineage_utils.errors import ArtifactError
from tests.bi.test_snapshot import recorded_snapshot  # noqa: F401 - fixture


def run_check(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lineage_utils.bi.snapshot", "--check", str(folder)],
                          capture_output=True, text=True, timeout=60)


def _listing_with_reports(folder: Path) -> Path:
    return next(p for p in sorted(folder.glob("spaces/*/reports.json"))
                if json.loads(p.read_text())["_embedded"]["reports"])


def test_schema_is_shipped_as_package_data(repo_root):
    data = tomllib.loads((repo_root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "bi/snapshot.schema.json" in data["lineage_utils"]
    Draft202012Validator.check_schema(load_schema())


def test_layout_comes_from_the_schema():
    assert layout().per_space == ("reports.json", "datasets.json")
    assert layout().per_report == ("queries.json",)
    assert layout().root == ("spaces.json", "data_sources.json", "definitions.json")


def test_cli_demo_snapshot_is_valid(repo_root):
    done = run_check(repo_root / "demo" / "mode_workspace")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and "valid Mode snapshot" in lines[0] and "37 reports" in lines[0]


def test_cli_lists_every_problem_with_file_and_key(demo_copy):
    listings = [p for p in sorted(demo_copy.glob("spaces/*/reports.json"))
                if json.loads(p.read_text())["_embedded"]["reports"]]
    listing, gone = listings[0], listings[1]
    doc = json.loads(listing.read_text())
    doc["_embedded"]["reports"][0]["archived"] = "maybe"
    doc["_embedded"]["reports"][-1]["view_count"] = "x"
    listing.write_text(json.dumps(doc))
    gone.unlink()
    victim = demo_copy / "reports" / doc["_embedded"]["reports"][0]["token"]
    shutil.rmtree(victim)
    (demo_copy / "users" / "lee_chen.json").write_text("[]")
    done = run_check(demo_copy)
    assert done.returncode == 1
    relative, last = listing.relative_to(demo_copy), len(doc["_embedded"]["reports"]) - 1
    lines = done.stdout.strip().splitlines()
    assert f"{relative}: key '_embedded.reports[0].archived': \"maybe\" is not a boolean" in done.stdout
    assert f"{relative}: key '_embedded.reports[{last}].view_count': \"x\" is not an integer" in done.stdout
    assert f"{gone.relative_to(demo_copy)}: required file missing" in done.stdout
    assert f"reports/{victim.name}/queries.json: required file missing" in done.stdout
    assert "users/lee_chen.json: [] is not of type 'object'" in done.stdout
    assert len(lines) == 5 and "5 problem(s)" in done.stderr


def test_check_names_malformed_json_and_gzip_garbage(demo_copy, capsys):
    (demo_copy / "definitions.json").write_text("{")
    listing = _listing_with_reports(demo_copy)
    listing.unlink()
    listing.with_name("reports.json.gz").write_bytes(b"garbage")
    assert main(["--check", str(demo_copy)]) == 1
    out = capsys.readouterr().out
    assert "definitions.json: malformed JSON at line 1" in out
    assert f"{listing.relative_to(demo_copy)}.gz: cannot be read" in out
    assert len(out.strip().splitlines()) == 2


def test_check_of_a_missing_folder_fails(tmp_path, capsys):
    assert main(["--check", str(tmp_path / "nowhere")]) == 1
    assert "folder not found" in capsys.readouterr().out


def test_check_recorded_responses_as_a_folder(recorded_snapshot):  # noqa: F811
    assert check_snapshot_dir(recorded_snapshot) == []


def test_check_finds_a_space_without_its_folder(demo_copy):
    spaces = json.loads((demo_copy / "spaces.json").read_text())["_embedded"]["spaces"]
    shutil.rmtree(demo_copy / "spaces" / spaces[0]["token"])
    files = {p.file for p in check_snapshot_dir(demo_copy)}
    assert files == {f"spaces/{spaces[0]['token']}/reports.json", f"spaces/{spaces[0]['token']}/datasets.json"}


@pytest.mark.parametrize("field, value", [
    ("archived", True), ("archived", "false"), ("archived", None), ("archived", "maybe"), ("archived", []),
    ("archived", {}), ("archived", 1), ("view_count", 3), ("view_count", "12"), ("view_count", "x"),
    ("view_count", -1), ("view_count", 2.0), ("view_count", True), ("id", "12"), ("id", "ab"), ("token", "a/b"),
    ("last_run_at", 5), ("imported_datasets", "x"), ("name", 3),
])
def test_schema_and_reader_agree(field, value):
    item = {"token": "e9a11122b9f7", field: value}
    schema = {"$schema": load_schema()["$schema"], "$defs": load_schema()["$defs"], "$ref": "#/$defs/report"}
    schema_ok = not list(Draft202012Validator(schema).iter_errors(item))
    try:
        read_report(item, Where("f.json"))
        reader_ok = True
    except ArtifactError:
        reader_ok = False
    assert schema_ok == reader_ok
