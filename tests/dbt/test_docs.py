"""Docs blocks from manifest.json: exact users from doc_blocks, possible ones from rendered text, faults named.

The manifest shapes follow what dbt-core 1.11 wrote for the demo project with a docs
``.md`` file (manifest v12): ``doc_blocks`` on nodes, source tables and their columns,
rendered descriptions everywhere else.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from lineage_utils.dbt.docs import DocBlock, dbt_docs_frame, load_docs, parse_docs, read_dbt_docs, users_of
from lineage_utils.errors import ArtifactError

PATH = Path("target/manifest.json")
V12 = "https://schemas.getdbt.com/dbt/manifest/v12.json"


def doc(name: str, contents: str, package: str = "p", path: str = "models/docs.md") -> dict:
    return {"unique_id": f"doc.{package}.{name}", "name": name, "resource_type": "doc", "package_name": package,
            "path": path.split("/")[-1], "original_file_path": path, "block_contents": contents}


def manifest(**sections) -> dict:
    base = {"metadata": {"dbt_schema_version": V12, "project_name": "p"}, "nodes": {}, "sources": {},
            "docs": {d["unique_id"]: d for d in (doc("orders", "One row per order."), doc("order_id", "The key."),
                                                 doc("board", "The board pack."), doc("unused", "Nobody."))}}
    base.update(sections)
    return base


def model(name: str, doc_blocks=None, columns=None, description: str = "") -> dict:
    raw = {"unique_id": f"model.p.{name}", "resource_type": "model", "name": name, "description": description,
           "columns": columns or {}}
    if doc_blocks is not None:
        raw["doc_blocks"] = doc_blocks
    return raw


def test_doc_blocks_of_a_node_and_of_its_columns_are_exact_users():
    nodes = {"model.p.orders": model("orders", ["doc.p.orders"], {"order_id": {
        "name": "order_id", "description": "The key.", "doc_blocks": ["doc.p.order_id"]}}),
        "model.p.other": model("other", [], description="One row per order.")}
    docs = parse_docs(manifest(nodes=nodes), PATH)
    assert docs["doc.p.orders"].used_by == ("model.p.orders",)
    assert docs["doc.p.order_id"].used_by == ("model.p.orders",)
    assert docs["doc.p.orders"].maybe_used_by == ()  # other has doc_blocks: its matching text is not a use


def test_a_source_table_and_its_columns_record_doc_blocks_its_source_description_does_not():
    sources = {"source.p.raw.orders": {
        "unique_id": "source.p.raw.orders", "resource_type": "source", "description": "One row per order.",
        "doc_blocks": ["doc.p.orders"], "source_description": "The board pack.",
        "columns": {"id": {"name": "id", "description": "The key.", "doc_blocks": ["doc.p.order_id"]}}}}
    docs = parse_docs(manifest(sources=sources), PATH)
    assert docs["doc.p.orders"].used_by == docs["doc.p.order_id"].used_by == ("source.p.raw.orders",)
    assert docs["doc.p.board"].maybe_used_by == ("source.p.raw.orders",)


@pytest.mark.parametrize("section, uid, raw", [
    ("exposures", "exposure.p.board", {"description": "The board pack."}),
    ("metrics", "metric.p.revenue", {"description": "The board pack. Revenue."}),
    ("semantic_models", "semantic_model.p.orders", {"description": "", "dimensions": [
        {"name": "status", "description": "The board pack."}]}),
    ("macros", "macro.p.load", {"description": "The board pack.", "arguments": []}),
    ("saved_queries", "saved_query.p.weekly", {"description": "The board pack."}),
])
def test_what_records_no_doc_blocks_is_a_possible_user_when_its_text_holds_the_block(section, uid, raw):
    docs = parse_docs(manifest(**{section: {uid: {"unique_id": uid, **raw}}}), PATH)
    assert docs["doc.p.board"].used_by == ()
    assert docs["doc.p.board"].maybe_used_by == (uid,)
    assert docs["doc.p.orders"].maybe_used_by == ()


def test_a_manifest_before_dbt_1_10_falls_back_to_rendered_text():
    nodes = {"model.p.orders": model("orders", None, {"order_id": {"name": "order_id", "description": "The key."}},
                                     description="One row per order. More.")}
    docs = parse_docs(manifest(nodes=nodes), PATH)
    assert docs["doc.p.orders"].maybe_used_by == docs["doc.p.order_id"].maybe_used_by == ("model.p.orders",)
    assert users_of(docs["doc.p.orders"]) == ("model.p.orders",)


def test_a_block_with_empty_text_is_opaque_and_matches_nothing():
    data = manifest(docs={"doc.p.empty": doc("empty", "  \n")},
                    exposures={"exposure.p.board": {"unique_id": "exposure.p.board", "description": ""}})
    block = parse_docs(data, PATH)["doc.p.empty"]
    assert block.opaque and block.maybe_used_by == ()


def test_a_disabled_node_counts_as_a_user():
    disabled = {"model.p.old": [model("old", ["doc.p.orders"])]}
    assert parse_docs(manifest(disabled=disabled), PATH)["doc.p.orders"].used_by == ("model.p.old",)


def test_an_unused_block_has_no_users_and_keeps_its_file():
    block = parse_docs(manifest(), PATH)["doc.p.unused"]
    assert block == DocBlock("doc.p.unused", "unused", "p", "models/docs.md")


def test_the_frame_round_trips():
    nodes = {"model.p.orders": model("orders", ["doc.p.orders"])}
    exposures = {"exposure.p.board": {"unique_id": "exposure.p.board", "description": "The board pack."}}
    docs = parse_docs(manifest(nodes=nodes, exposures=exposures), PATH)
    frame = dbt_docs_frame(reversed(list(docs.values())))
    assert list(frame["unique_id"]) == sorted(docs)
    assert read_dbt_docs(frame) == docs


@pytest.mark.parametrize("change, culprit", [
    (lambda m: m["docs"].update({"doc.p.x": "text"}), "docs: key 'doc.p.x' must be an object"),
    (lambda m: m["docs"]["doc.p.orders"].pop("original_file_path"), "original_file_path"),
    (lambda m: m["nodes"].update({"model.p.a": model("a", "doc.p.orders")}), "doc_blocks"),
    (lambda m: m["nodes"].update({"model.p.a": model("a", [], {"c": ["x"]})}), 'nodes["model.p.a"].columns'),
    (lambda m: m["nodes"].update({"model.p.a": model("a", [], {"c": {"doc_blocks": [1]}})}), "doc_blocks"),
    (lambda m: m.update(docs=[]), "key 'docs'"),
    (lambda m: m["metadata"].update(dbt_schema_version="v99"), "metadata.dbt_schema_version"),
])
def test_a_malformed_manifest_names_the_file_and_the_key(change, culprit):
    data = manifest()
    change(data)
    with pytest.raises(ArtifactError) as caught:
        parse_docs(data, PATH)
    assert str(caught.value).startswith(str(PATH)) and culprit in str(caught.value)


def test_load_docs_reads_a_gzipped_manifest_of_a_target_folder(tmp_path):
    with gzip.open(tmp_path / "manifest.json.gz", "wt", encoding="utf-8") as handle:
        json.dump(manifest(nodes={"model.p.orders": model("orders", ["doc.p.orders"])}), handle)
    assert load_docs(tmp_path)["doc.p.orders"].used_by == ("model.p.orders",)


def test_load_docs_names_the_missing_manifest_and_malformed_json(tmp_path):
    with pytest.raises(ArtifactError, match="params key 'dbt.target_dir': no manifest.json"):
        load_docs(tmp_path)
    (tmp_path / "manifest.json").write_text('{"docs": ', encoding="utf-8")
    with pytest.raises(ArtifactError, match=r"manifest.json: malformed JSON at line 1"):
        load_docs(tmp_path)
