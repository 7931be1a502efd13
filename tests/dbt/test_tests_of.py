"""A dbt test that spans two models is recorded on both, with where it is declared."""

from __future__ import annotations

from pathlib import Path

from lineage_utils.dbt.artifacts import parse_manifest
from lineage_utils.dbt.tests_of import dbt_tests_frame, read_dbt_tests

RELATIONSHIPS = "test.p.relationships_orders_customer_id__id__ref_customers_.1a"
SOURCE_TEST = "test.p.source_relationships_raw_events_cid__id__ref_customers_.2b"
SINGULAR = "test.p.assert_totals"


def model(name: str, **extra) -> dict:
    return {"unique_id": f"model.p.{name}", "resource_type": "model", "name": name, "package_name": "p",
            "original_file_path": f"models/{name}.sql", "patch_path": "p://models/schema.yml",
            "config": {"materialized": "view"}, "depends_on": {"nodes": []}, **extra}


def manifest() -> dict:
    return {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "project_name": "p"},
        "nodes": {
            "model.p.orders": model("orders"), "model.p.customers": model("customers"),
            RELATIONSHIPS: {
                "unique_id": RELATIONSHIPS, "resource_type": "test", "name": "relationships_orders_customer_id",
                "original_file_path": "models/schema.yml", "file_key_name": "models.orders",
                "column_name": "customer_id", "attached_node": "model.p.orders",
                "depends_on": {"nodes": ["model.p.customers", "model.p.orders"]},
                "test_metadata": {"name": "relationships", "namespace": None,
                                  "kwargs": {"to": "ref('customers')", "field": "id", "column_name": "customer_id",
                                             "model": "{{ get_where_subquery(ref('orders')) }}"}}},
            SOURCE_TEST: {
                "unique_id": SOURCE_TEST, "resource_type": "test", "name": "source_relationships_raw_events_cid",
                "original_file_path": "models/sources.yml", "file_key_name": "sources.raw", "column_name": "cid",
                "attached_node": None, "depends_on": {"nodes": ["model.p.customers", "source.p.raw.events"]},
                "test_metadata": {"name": "relationships", "kwargs": {
                    "to": "ref('customers')", "field": "id",
                    "model": "{{ get_where_subquery(source('raw', 'events')) }}"}}},
            SINGULAR: {"unique_id": SINGULAR, "resource_type": "test", "name": "assert_totals",
                       "original_file_path": "tests/assert_totals.sql",
                       "depends_on": {"nodes": ["model.p.customers", "model.p.orders"]}},
        },
        "sources": {"source.p.raw.events": {"unique_id": "source.p.raw.events", "resource_type": "source",
                                            "name": "events", "source_name": "raw", "package_name": "p",
                                            "original_file_path": "models/sources.yml"}},
        "exposures": {},
    }


def test_a_test_over_two_models_is_on_both():
    project = parse_manifest(manifest(), Path("manifest.json"))
    assert set(project.nodes["model.p.customers"].tests) == {RELATIONSHIPS, SOURCE_TEST, SINGULAR}
    assert set(project.nodes["model.p.orders"].tests) == {RELATIONSHIPS, SINGULAR}
    assert project.nodes["source.p.raw.events"].tests == (SOURCE_TEST,)


def test_a_test_records_where_it_is_declared():
    tests = parse_manifest(manifest(), Path("manifest.json")).tests
    rel = tests[RELATIONSHIPS]
    assert (rel.path, rel.yaml_key, rel.entry, rel.column, rel.name) == (
        "models/schema.yml", "models", "orders", "customer_id", "relationships")
    assert rel.arguments == {"field": '"id"', "to": "\"ref('customers')\""} and rel.spans_models()
    src = tests[SOURCE_TEST]
    assert (src.yaml_key, src.entry, src.table, src.column) == ("sources", "raw", "events", "cid")
    assert tests[SINGULAR].singular and not rel.singular


def test_the_properties_file_is_project_relative():
    project = parse_manifest(manifest(), Path("manifest.json"))
    assert project.nodes["model.p.orders"].patch_path == "models/schema.yml"


def test_tests_round_trip_through_the_run_folder_frame():
    tests = parse_manifest(manifest(), Path("manifest.json")).tests
    assert read_dbt_tests(dbt_tests_frame(tests.values())) == dict(tests)
