"""Property tests of the snapshot reader (defect 17): whatever the files hold, only our errors escape."""

from __future__ import annotations

import copy
import gzip
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_utils.bi.snapshot import check, parse_bundle, read_snapshot, write_snapshot_dir
from lineage_utils.bi.snapshot_layout import check_snapshot_dir
from lineage_utils.errors import MetapipelineError

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BASE = {
    "format": "metapipeline.mode_snapshot", "format_version": 1, "workspace": "ws", "captured_at": "2026-01-01T00:00:00Z",
    "spaces": [{"token": "s1", "name": "Space", "space_type": "custom", "restricted": False}],
    "reports": [
        {"token": "r1", "id": 1, "name": "Report", "type": "Report", "space_token": "s1", "archived": False,
         "runs_count": 3, "view_count": "4", "created_at": "2025-01-01T00:00:00Z",
         "imported_datasets": [{"token": "d1"}], "_links": {"creator": {"href": "/api/ana"}}},
        {"token": "d1", "id": "2", "name": "Dataset", "type": "DatasetReport", "space_token": "s1"},
    ],
    "queries": {"r1": [{"token": "q1", "id": "10", "raw_query": "select 1", "data_source_id": 7}],
                "d1": [{"token": "q2", "raw_query": "select 2", "data_source_id": "7"}]},
    "data_sources": [{"id": 7, "name": "warehouse", "adapter": "jdbc:postgresql"}],
    "definitions": [{"name": "defn", "source": "select 3", "data_source_id": 7}],
    "users": {"ana": {"username": "ana", "name": "Ana", "email": "ana@example.com"}},
}
FILES = ("workspace.json", "spaces.json", "spaces/s1/reports.json", "spaces/s1/datasets.json",
         "reports/r1/queries.json", "reports/d1/queries.json", "data_sources.json", "definitions.json",
         "users/ana.json")
REPORT_KEYS = ("token", "id", "name", "type", "space_token", "collection_token", "archived", "runs_count",
               "view_count", "schedules_count", "query_count", "created_at", "last_run_at", "imported_datasets",
               "_links", "description")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.sampled_from(["true", "false", "12", "", "s1", "r1", "2025-01-01T00:00:00Z", "../x"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["_embedded", "reports", "spaces", "queries", "token", "href", "archived"]) | st.text(max_size=6),
        inner, max_size=4),
    max_leaves=12)


def _read_all(folder: Path) -> None:
    """The reader and the checker; each either works or raises our own error."""
    try:
        bundle, _ = read_snapshot(folder)
        parse_bundle(bundle, origin=str(folder))
    except MetapipelineError:
        pass
    check_snapshot_dir(folder)


def _base_files() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as root:
        folder = write_snapshot_dir(copy.deepcopy(BASE), Path(root) / "ws")
        return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*.json")}


BASE_FILES = _base_files()


_SCRATCH = tempfile.TemporaryDirectory(prefix="snapshot-props-")


def _snapshot(root: Path | None = None) -> Path:
    """The base snapshot, rewritten in place (one scratch folder: no tree removal per example)."""
    folder = (root or Path(_SCRATCH.name)) / "ws"
    for stray in folder.rglob("*.gz"):
        stray.unlink()
    for relative, data in BASE_FILES.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    return folder


def test_the_base_snapshot_is_valid():
    with tempfile.TemporaryDirectory() as root:
        folder = _snapshot(Path(root))
        assert set(BASE_FILES) == set(FILES)
        assert check(folder)[0] == [] and read_snapshot(folder)[1].complete


@SETTINGS
@given(name=st.sampled_from(FILES), value=json_values)
def test_any_json_in_any_file(name, value):
    folder = _snapshot()
    (folder / name).write_text(json.dumps(value))
    _read_all(folder)


@SETTINGS
@given(key=st.sampled_from(REPORT_KEYS) | st.text(max_size=6), value=json_values, index=st.integers(0, 1),
       listing=st.sampled_from(["reports", "datasets"]))
def test_any_json_in_any_report_field(key, value, index, listing):
    folder = _snapshot()
    path = folder / "spaces" / "s1" / f"{listing}.json"
    doc = json.loads(path.read_text())
    items = doc["_embedded"]["reports"] or [{"token": "x1"}]
    items[min(index, len(items) - 1)][key] = value
    doc["_embedded"]["reports"] = items
    path.write_text(json.dumps(doc))
    _read_all(folder)


@SETTINGS
@given(name=st.sampled_from(FILES), payload=st.binary(max_size=64), packed=st.booleans())
def test_any_bytes_in_any_file(name, payload, packed):
    folder = _snapshot()
    if packed:  # raw bytes as a .gz, or a valid gzip of garbage
        (folder / name).unlink()
        data = payload if payload[:1] == b"\x1f" else gzip.compress(payload)
        (folder / f"{name}.gz").write_bytes(data)
    else:
        (folder / name).write_bytes(payload)
    _read_all(folder)


@SETTINGS
@given(bundle=json_values | st.fixed_dictionaries({"format": st.just("metapipeline.mode_snapshot")},
                                                   optional={k: json_values for k in BASE if k != "format"}))
def test_any_bundle(bundle):
    try:
        parse_bundle(bundle, origin="bi_snapshot.json")
    except MetapipelineError:
        pass


@settings(max_examples=50, deadline=None)
@given(archived=st.sampled_from([True, False, "true", "false", None]),
       counts=st.integers(0, 10**6), as_text=st.booleans())
def test_valid_wire_forms_round_trip_through_a_folder(archived, counts, as_text):
    bundle = copy.deepcopy(BASE)
    bundle["reports"][0].update(archived=archived, runs_count=str(counts) if as_text else counts)
    with tempfile.TemporaryDirectory() as root:
        folder = write_snapshot_dir(bundle, Path(root) / "ws")
        read, status = read_snapshot(folder)
        assert status.complete
    again, direct = parse_bundle(read).reports["r1"], parse_bundle(bundle).reports["r1"]
    assert again == direct and again.runs_count == counts
    assert again.archived is {"true": True, "false": False}.get(archived, archived)  # type: ignore[arg-type]
