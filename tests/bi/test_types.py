"""Mode's wire types read strictly (defect 11): Swagger's strings, never ``bool(str)``."""

from __future__ import annotations

import json
import shutil

import networkx as nx
import pytest

from lineage_utils.bi.snapshot import read_snapshot
from lineage_utils.bi.types import Where, read_query, read_report
from lineage_utils.errors import ArtifactError
from lineage_utils.lineage.graph import add_bi
from lineage_utils.lineage.staleness import is_judged
from tests.conftest import mode_client

HERE = Where("spaces/abc/reports.json", "_embedded.reports[0]")


def report(**fields):
    return read_report({"token": "e9a11122b9f7", **fields}, HERE)


@pytest.mark.parametrize("value, expected", [
    (True, True), (False, False), ("true", True), ("false", False), (None, None),
])
def test_archived_accepts_swagger_forms(value, expected):
    assert report(archived=value).archived is expected


def test_archived_false_as_text_is_not_archived():
    assert report(archived="false").archived is False


def test_archived_absent_is_unknown_not_false():
    assert report().archived is None


@pytest.mark.parametrize("value", ["maybe", "", "False ", [], [True], {}, {"value": True}, 1, 0, 1.5])
def test_archived_of_another_type_names_file_and_key(value):
    with pytest.raises(ArtifactError, match=r"spaces/abc/reports.json: key '_embedded.reports\[0\].archived'"):
        report(archived=value)


@pytest.mark.parametrize("key", ["runs_count", "view_count", "schedules_count", "query_count"])
@pytest.mark.parametrize("value, expected", [(12, 12), ("12", 12), ("0", 0), (12.0, 12), (None, 0), ("", 0)])
def test_counts_as_integers_or_digit_strings(key, value, expected):
    assert getattr(report(**{key: value}), key) == expected


@pytest.mark.parametrize("value", ["x", "1.5", "-3", -3, 1.5, True, [], {}, "1e3", float("nan")])
def test_bad_count_names_file_and_key(value):
    with pytest.raises(ArtifactError, match=r"reports.json: key '_embedded.reports\[0\].view_count': expected a count"):
        report(view_count=value)


@pytest.mark.parametrize("value", [10149707, "10149707"])
def test_ids_as_integers_or_strings_are_one_id(value):
    query = read_query("r", {"token": "q1", "id": value, "data_source_id": value}, HERE)
    assert query.id == "10149707" and query.data_source_id == "10149707"


@pytest.mark.parametrize("value", ["abc", True, [1], {"id": 1}, -1])
def test_bad_id_names_file_and_key(value):
    with pytest.raises(ArtifactError, match=r"key '_embedded.reports\[0\].data_source_id': expected an id"):
        read_query("r", {"token": "q1", "data_source_id": value}, HERE)


def test_a_report_typed_as_mode_swagger_types_it_reads(shared_data):
    """Every count Swagger types as a string, sent as a string, reads as a number."""
    spec = json.loads((shared_data / "mode" / "openapi" / "swagger.json").read_text())
    props = spec["definitions"]["Report"]["properties"]
    counts = [k for k in ("runs_count", "view_count", "query_count", "schedules_count") if props[k]["type"] == "string"]
    assert counts, "Swagger no longer types counts as strings: revisit bi/types.py"
    assert props["archived"]["type"] == "boolean" and spec["definitions"]["Query"]["properties"]["id"]["type"] == "string"
    read = report(**{k: "7" for k in counts}, archived=True, id=5450544)
    assert all(getattr(read, k) == 7 for k in counts) and read.archived is True and read.id == "5450544"


def test_dataset_listing_without_archived_is_unknown_and_noted(tmp_path, repo_root):
    folder = tmp_path / "ws"
    shutil.copytree(repo_root / "demo" / "mode_workspace", folder)
    listing = next(p for p in sorted(folder.glob("spaces/*/datasets.json"))
                   if json.loads(p.read_text())["_embedded"]["reports"])
    doc = json.loads(listing.read_text())
    for item in doc["_embedded"]["reports"]:
        item.pop("archived", None)
    listing.write_text(json.dumps(doc))
    bundle, status = read_snapshot(folder)
    assert status.complete
    assert [w.target for w in status.warnings] == [str(listing)]
    assert "archived state unknown, treated as live" in status.warnings[0].reason
    tokens = {i["token"] for i in doc["_embedded"]["reports"]}
    assert all("archived" not in r for r in bundle["reports"] if r["token"] in tokens)


def test_unknown_archived_is_treated_as_live_downstream():
    """A report whose archived state is unknown is judged like a live one and, when active, protects."""
    unknown = report(name="Unknown state", type="Report", runs_count=10, view_count=10)
    assert unknown.archived is None and is_judged(unknown)
    graph = nx.DiGraph()
    add_bi(graph, [unknown], [], [])
    assert graph.nodes[unknown.node_id]["active"] is True


# -- the live side -----------------------------------------------------------------------
def _adapter(standin, tmp_path):
    from lineage_utils.bi.mode.adapter import ModeAdapter

    return ModeAdapter(client=mode_client(standin), state_dir=tmp_path / "state", workers=2)


def _active_token(standin) -> str:
    return next(t for t, r in sorted(standin.reports.items()) if r.get("archived") is False)


def test_live_delete_refuses_a_report_whose_archived_is_the_text_false(mode_standin, tmp_path):
    token = _active_token(mode_standin)
    mode_standin.reports[token]["archived"] = "false"
    result = _adapter(mode_standin, tmp_path).delete(token)
    assert result.result == "failed" and "not archived" in result.detail
    assert token in mode_standin.reports


def test_live_archive_of_text_true_is_a_noop(mode_standin, tmp_path):
    token = _active_token(mode_standin)
    mode_standin.reports[token]["archived"] = "true"
    assert _adapter(mode_standin, tmp_path).archive(token).result == "noop"


def test_live_archived_of_another_type_fails_naming_the_key(mode_standin, tmp_path):
    token = _active_token(mode_standin)
    mode_standin.reports[token]["archived"] = "maybe"
    result = _adapter(mode_standin, tmp_path).delete(token)
    assert result.result == "failed" and "key 'archived'" in result.detail and token in mode_standin.reports


def test_live_crawl_reads_text_flags_and_leaves_out_mistyped_reports(mode_standin):
    from lineage_utils.bi.mode.crawl import crawl_workspace
    from lineage_utils.bi.snapshot import parse_bundle

    active, *others = [t for t, r in sorted(mode_standin.reports.items()) if r.get("archived") is False]
    mode_standin.reports[active].update(archived="false", view_count="12")
    mode_standin.reports[others[0]]["archived"] = "maybe"
    bundle, status = crawl_workspace(mode_client(mode_standin), workers=2)
    snapshot = parse_bundle(bundle)
    assert snapshot.reports[active].archived is False and snapshot.reports[active].view_count == 12
    assert others[0] not in snapshot.reports and not status.complete
    assert [e.target for e in status.errors] == [others[0]] and "key 'archived'" in status.errors[0].reason
