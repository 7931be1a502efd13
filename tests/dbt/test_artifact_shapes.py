"""A manifest or run_results of the wrong shape gives one ArtifactError naming the file and the key."""

from __future__ import annotations

import copy
import gzip
import json
import re
import zlib

import pytest

from lineage_utils.dbt.artifacts import load_manifest, load_project
from lineage_utils.errors import ArtifactError

MODEL = "model.p.a"


def manifest() -> dict:
    return {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "project_name": "p"},
        "nodes": {MODEL: {"unique_id": MODEL, "resource_type": "model", "name": "a", "package_name": "p",
                          "config": {"materialized": "table", "tags": ["x"], "meta": {}}, "tags": ["x"],
                          "fqn": ["p", "a"], "depends_on": {"nodes": ["source.p.raw.t"]}}},
        "sources": {"source.p.raw.t": {"unique_id": "source.p.raw.t", "resource_type": "source", "name": "t",
                                       "source_name": "raw", "package_name": "p"}},
        "exposures": {"exposure.p.e": {"unique_id": "exposure.p.e", "name": "e", "type": "dashboard",
                                       "owner": {"name": "Ann"}, "depends_on": {"nodes": [MODEL]}}},
    }


def run_results() -> dict:
    return {"results": [{"unique_id": MODEL, "status": "success", "execution_time": 1.5,
                         "timing": [{"name": "execute", "completed_at": "2026-01-01T00:00:00Z"}]}]}


def _set(doc: dict, keys: tuple, value) -> dict:
    doc = copy.deepcopy(doc)
    inner = doc
    for key in keys[:-1]:
        inner = inner[key]
    if value is DELETE:
        del inner[keys[-1]]
    else:
        inner[keys[-1]] = value
    return doc


DELETE = object()

# (case, file, keys to change, new value, the key the message must name)
MANIFEST_CASES = [
    ("nodes_as_a_list", ("nodes",), [manifest()["nodes"][MODEL]], "nodes"),
    ("metadata_a_string", ("metadata",), "v12", "metadata"),
    ("node_without_unique_id", ("nodes", MODEL, "unique_id"), DELETE, "unique_id"),
    ("tags_not_a_list", ("nodes", MODEL, "tags"), "finance", "tags"),
    ("config_tags_not_a_list", ("nodes", MODEL, "config", "tags"), {"a": 1}, "tags"),
    ("a_tag_not_a_string", ("nodes", MODEL, "tags"), ["ok", 7], "tags"),
    ("node_not_an_object", ("nodes", MODEL), "model a", MODEL),
    ("config_a_list", ("nodes", MODEL, "config"), ["table"], "config"),
    ("meta_a_list", ("nodes", MODEL, "config", "meta"), ["owner"], "meta"),
    ("depends_on_nodes_a_string", ("nodes", MODEL, "depends_on", "nodes"), "source.p.raw.t", "nodes"),
    ("depends_on_a_list", ("nodes", MODEL, "depends_on"), ["source.p.raw.t"], "depends_on"),
    ("fqn_a_string", ("nodes", MODEL, "fqn"), "p.a", "fqn"),
    ("name_an_object", ("nodes", MODEL, "name"), {"n": "a"}, "name"),
    ("sources_as_a_list", ("sources",), [], "sources"),
    ("source_without_unique_id", ("sources", "source.p.raw.t", "unique_id"), None, "unique_id"),
    ("exposures_a_string", ("exposures",), "none", "exposures"),
    ("exposure_owner_a_string", ("exposures", "exposure.p.e", "owner"), "Ann", "owner"),
    ("exposure_without_unique_id", ("exposures", "exposure.p.e", "unique_id"), DELETE, "unique_id"),
    ("groups_a_list", ("groups",), ["g"], "groups"),
    ("project_name_a_number", ("metadata", "project_name"), 3, "project_name"),
]
RESULT_CASES = [
    ("execution_time_not_numeric", ("results", 0, "execution_time"), "fast", "execution_time"),
    ("execution_time_a_boolean", ("results", 0, "execution_time"), True, "execution_time"),
    ("result_without_unique_id", ("results", 0, "unique_id"), DELETE, "unique_id"),
    ("result_not_an_object", ("results", 0), "model.p.a", "0"),
    ("timing_an_object", ("results", 0, "timing"), {"execute": {}}, "timing"),
    ("timing_step_a_string", ("results", 0, "timing", 0), "execute", "0"),
    ("completed_at_a_number", ("results", 0, "timing", 0, "completed_at"), 17, "completed_at"),
]


def _named(exc: pytest.ExceptionInfo, path, key: str) -> None:
    message = str(exc.value)
    assert message.startswith(f"{path}: "), message
    assert f"'{key}'" in message, message
    assert exc.value.__cause__ is None  # one error, not a traceback of a KeyError


@pytest.mark.parametrize("keys, value, key", [c[1:] for c in MANIFEST_CASES], ids=[c[0] for c in MANIFEST_CASES])
def test_manifest_shape_error_names_file_and_key(tmp_path, keys, value, key):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(_set(manifest(), keys, value)))
    with pytest.raises(ArtifactError) as exc:
        load_manifest(path)
    _named(exc, path, key)


@pytest.mark.parametrize("keys, value, key", [c[1:] for c in RESULT_CASES], ids=[c[0] for c in RESULT_CASES])
def test_run_results_shape_error_names_file_and_key(tmp_path, keys, value, key):
    (tmp_path / "manifest.json").write_text(json.dumps(manifest()))
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps(_set(run_results(), keys, value)))
    with pytest.raises(ArtifactError) as exc:
        load_project(tmp_path)
    _named(exc, path, key)


def test_a_well_formed_pair_still_loads(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(manifest()))
    (tmp_path / "run_results.json").write_text(json.dumps(run_results()))
    project = load_project(tmp_path)
    assert project.nodes[MODEL].tags == ("x",) and project.run_results[MODEL].execution_time == 1.5
    assert project.exposures["exposure.p.e"].owner_name == "Ann"


def _garbage(kind: str) -> bytes:
    body = json.dumps(manifest()).encode()
    if kind == "not_gzip":
        return b"PK\x03\x04 this is a zip, not a gzip"
    if kind == "corrupt_deflate":  # a valid gzip header over bytes that are not deflate data
        return gzip.compress(body)[:10] + b"\xff" * 64
    if kind == "truncated":
        return gzip.compress(body)[:-30]
    if kind == "not_utf8":
        return gzip.compress(b"\xff\xfe{\x00}")
    return gzip.compress(b'{"metadata": ')  # not_json


GZIP_CASES = ("not_gzip", "corrupt_deflate", "truncated", "not_utf8", "not_json")


@pytest.mark.parametrize("kind", GZIP_CASES)
def test_gzip_garbage_manifest_names_the_file(tmp_path, kind):
    path = tmp_path / "manifest.json.gz"
    path.write_bytes(_garbage(kind))
    with pytest.raises(ArtifactError, match=rf"^{re.escape(str(path))}: ") as exc:
        load_project(tmp_path)
    assert exc.value.__cause__ is None


@pytest.mark.parametrize("kind", GZIP_CASES)
def test_gzip_garbage_run_results_names_the_file(tmp_path, kind):
    (tmp_path / "manifest.json").write_text(json.dumps(manifest()))
    path = tmp_path / "run_results.json.gz"
    path.write_bytes(_garbage(kind))
    with pytest.raises(ArtifactError, match=rf"^{re.escape(str(path))}: "):
        load_project(tmp_path)


@pytest.mark.parametrize("name, body", [("manifest.json", "[]"), ("run_results.json", '"results"')])
def test_a_top_level_that_is_not_an_object_names_the_file(tmp_path, name, body):
    (tmp_path / "manifest.json").write_text(json.dumps(manifest()))
    (tmp_path / name).write_text(body)
    with pytest.raises(ArtifactError, match=rf"^{re.escape(str(tmp_path / name))}: expected a JSON object"):
        load_project(tmp_path)


def test_zlib_is_what_a_corrupt_gzip_raises():
    """Why read_artifact catches zlib.error: gzip lets it through, and it is not an OSError."""
    with pytest.raises(zlib.error):
        gzip.decompress(_garbage("corrupt_deflate"))
    assert not issubclass(zlib.error, OSError)
