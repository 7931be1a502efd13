"""RelationIndex.resolve / mentions and dialect_for_adapter on a small hand-made index."""

from __future__ import annotations

import logging

import pytest

from lineage_utils.sql.reads import extract_reads
from lineage_utils.sql.resolve import Relation, RelationIndex, dialect_for_adapter, normalize_parts

RELATIONS = [
    Relation("model.shop.fct_orders", "demo", "marts", "fct_orders"),
    Relation("model.shop.stg_orders", "demo", "staging", "fct_orders"),
    Relation("model.shop.dim_customers", "demo", "marts", "dim_customers"),
    Relation("source.shop.raw.events", "raw_db", "raw", "events"),
    Relation("seed.shop.country_codes", "demo", "seeds", "country_codes"),
    Relation("snapshot.shop.customers_snapshot", "demo", "snapshots", "customers_snapshot"),
    Relation("model.shop.ephemeral_step", None, None, None),
    Relation("model.other.fct_orders", "other_db", "marts", "fct_orders"),
]


def read(sql: str, dialect: str):
    (only,) = extract_reads(sql, dialect).reads
    return only


@pytest.fixture
def snowflake_index():
    return RelationIndex(RELATIONS, "snowflake")


@pytest.fixture
def postgres_index():
    return RelationIndex(RELATIONS, "postgres")


def test_three_part_name_resolves_exactly(snowflake_index):
    result = snowflake_index.resolve(read("SELECT * FROM DEMO.MARTS.FCT_ORDERS", "snowflake"))
    assert (result.status, result.candidates) == ("resolved", ("model.shop.fct_orders",))


def test_two_part_name_uses_default_database(snowflake_index):
    result = snowflake_index.resolve(read("SELECT * FROM marts.fct_orders", "snowflake"), "demo")
    assert result.candidates == ("model.shop.fct_orders",)


def test_two_part_name_without_default_database_matches_any_database(snowflake_index):
    result = snowflake_index.resolve(read("SELECT * FROM marts.fct_orders", "snowflake"))
    assert result.status == "ambiguous"
    assert result.candidates == ("model.other.fct_orders", "model.shop.fct_orders")


def test_one_part_name_takes_first_search_path_schema_that_matches(snowflake_index):
    result = snowflake_index.resolve(read("SELECT * FROM fct_orders", "snowflake"), "demo", ["nothing", "staging", "marts"])
    assert result.candidates == ("model.shop.stg_orders",) and "search path schema 'staging'" in result.reason


def test_one_part_name_without_search_path_is_ambiguous_across_schemas(snowflake_index):
    result = snowflake_index.resolve(read("SELECT * FROM fct_orders", "snowflake"), "demo")
    assert result.status == "ambiguous" and len(result.candidates) == 2


def test_one_part_name_unique_in_default_database_resolves(snowflake_index):
    result = snowflake_index.resolve(read("SELECT * FROM dim_customers", "snowflake"), "demo")
    assert result.candidates == ("model.shop.dim_customers",)


def test_search_path_miss_falls_back_to_any_schema(snowflake_index):
    result = snowflake_index.resolve(read("SELECT * FROM country_codes", "snowflake"), "demo", ["marts"])
    assert result.status == "resolved" and "outside the search path" in result.reason


def test_search_path_entry_may_name_a_database(snowflake_index):
    result = snowflake_index.resolve(read("SELECT * FROM events", "snowflake"), "demo", ["raw_db.raw"])
    assert result.candidates == ("source.shop.raw.events",)


def test_unknown_table_is_external(snowflake_index):
    result = snowflake_index.resolve(read("SELECT * FROM marts.nope", "snowflake"), "demo")
    assert (result.status, result.candidates) == ("external", ())


def test_snowflake_quoted_upper_matches_unquoted_relation(snowflake_index):
    result = snowflake_index.resolve(read('SELECT * FROM MARTS."FCT_ORDERS"', "snowflake"), "demo")
    assert result.status == "resolved"


def test_snowflake_quoted_lower_does_not_match(snowflake_index):
    result = snowflake_index.resolve(read('SELECT * FROM marts."fct_orders"', "snowflake"), "demo")
    assert result.status == "external"


def test_postgres_unquoted_upper_folds_to_lower(postgres_index):
    result = postgres_index.resolve(read("SELECT * FROM MARTS.FCT_ORDERS", "postgres"), "demo")
    assert result.status == "resolved"


def test_postgres_quoted_mixed_case_does_not_match(postgres_index):
    result = postgres_index.resolve(read('SELECT * FROM marts."Fct_Orders"', "postgres"), "demo")
    assert result.status == "external"


def test_duckdb_quoted_mixed_case_matches():
    index = RelationIndex(RELATIONS, "duckdb")
    result = index.resolve(read('SELECT * FROM "Marts"."Fct_Orders"', "duckdb"), "demo")
    assert result.status == "resolved"


def test_bigquery_project_and_dataset():
    index = RelationIndex([Relation("model.p.orders", "my-proj", "analytics", "orders")], "bigquery")
    result = index.resolve(read("SELECT * FROM `my-proj.analytics.orders`", "bigquery"))
    assert result.candidates == ("model.p.orders",)


def test_bigquery_table_names_are_case_sensitive():
    index = RelationIndex([Relation("model.p.orders", "my-proj", "analytics", "orders")], "bigquery")
    assert index.resolve(read("SELECT * FROM analytics.Orders", "bigquery")).status == "external"


def test_seeds_and_snapshots_resolve_like_models(postgres_index):
    result = postgres_index.resolve(read("SELECT * FROM snapshots.customers_snapshot", "postgres"), "demo")
    assert result.candidates == ("snapshot.shop.customers_snapshot",)


def test_ephemeral_relation_never_matches(postgres_index):
    assert postgres_index.resolve(read("SELECT * FROM ephemeral_step", "postgres")).status == "external"


def test_mentions_finds_whole_words_case_insensitively(postgres_index):
    assert postgres_index.mentions("SELECT * FROM Dim_Customers JOIN fct_orders_v2") == ("model.shop.dim_customers",)


def test_mentions_includes_every_relation_with_that_identifier(postgres_index):
    assert len(postgres_index.mentions("fct_orders")) == 3


def test_normalize_parts_follows_dialect():
    assert normalize_parts(("a", "b", "c"), (False, False, True), "snowflake") == ("A", "B", "c")


@pytest.mark.parametrize(
    ("adapter", "dialect"),
    [("jdbc:snowflake", "snowflake"), ("jdbc:postgresql", "postgres"), ("jdbc:sqlserver", "tsql"),
     ("jdbc:bigquery", "bigquery"), ("jdbc:databricks", "databricks"), ("duckdb", "duckdb")],
)
def test_dialect_for_known_adapters(adapter, dialect):
    assert dialect_for_adapter(adapter) == dialect


def test_dialect_override_wins():
    assert dialect_for_adapter("jdbc:postgresql", {"jdbc:postgresql": "redshift"}) == "redshift"


def test_unknown_adapter_is_generic_and_logged(caplog):
    with caplog.at_level(logging.WARNING):
        assert dialect_for_adapter("jdbc:mystery") == ""
    assert "jdbc:mystery" in caplog.text


def test_missing_adapter_is_generic():
    assert dialect_for_adapter(None) == ""


def test_unknown_dialect_is_a_params_error():
    from lineage_utils.errors import ParamsError

    with pytest.raises(ParamsError, match="no_such_dialect"):
        RelationIndex(RELATIONS, "no_such_dialect")


SEED_AND_SOURCE = [
    Relation("seed.shop.sales_targets", "demo", "raw_planning", "sales_targets"),
    Relation("source.shop.planning.sales_targets", "demo", "raw_planning", "sales_targets"),
    Relation("model.shop.sales_targets", "demo", "marts", "sales_targets"),
]


def test_seed_and_source_of_one_relation_resolve_to_both():
    index = RelationIndex(SEED_AND_SOURCE, "postgres")
    result = index.resolve(read("SELECT * FROM raw_planning.sales_targets", "postgres"), "demo")
    assert result.status == "resolved"
    assert result.candidates == ("seed.shop.sales_targets", "source.shop.planning.sales_targets")
    assert "one table" in result.reason


def test_seed_and_source_match_after_case_normalisation():
    relations = [Relation("seed.p.t", "DEMO", "RAW", "T"), Relation("source.p.raw.t", "demo", "raw", "t")]
    result = RelationIndex(relations, "snowflake").resolve(read("SELECT * FROM raw.t", "snowflake"), "demo")
    assert (result.status, len(result.candidates)) == ("resolved", 2)


def test_one_table_and_another_schema_stay_ambiguous():
    index = RelationIndex(SEED_AND_SOURCE, "postgres")
    result = index.resolve(read("SELECT * FROM sales_targets", "postgres"), "demo")
    assert result.status == "ambiguous" and len(result.candidates) == 3


def test_outside_warehouse_is_external_and_names_what_it_would_match(postgres_index):
    from lineage_utils.sql.resolve import outside_warehouse

    would = postgres_index.resolve(read("SELECT * FROM marts.dim_customers", "postgres"), "demo")
    result = outside_warehouse(would, "'App DB' (7)")
    assert (result.status, result.candidates) == ("external", ())
    assert "'App DB' (7) is not the dbt warehouse" in result.reason and "model.shop.dim_customers" in result.reason
