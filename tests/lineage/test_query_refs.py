"""Query references: statuses per reference, mentions for unparsed queries, summaries."""

from __future__ import annotations

import pandas as pd
import pytest

from lineage_utils.bi.snapshot import BiQuery, DataSource, Definition
from lineage_utils.lineage.query_refs import (
    default_database, problem_refs, query_paths, resolution_rate, resolution_summary, resolve_query_refs,
)
from lineage_utils.sql import Relation

RELATIONS = [
    Relation("model.p.orders", "db", "marts", "orders"),
    Relation("model.p.finance_orders", "db", "finance", "orders"),
    Relation("model.p.customers", "db", "marts", "customers"),
]
SOURCES = {"1": DataSource("1", None, "Warehouse", "jdbc:postgresql", "db", None),
           "2": DataSource("2", None, "Mirror", "jdbc:snowflake", "DB", None)}


def query(token: str, sql: str, source: str = "1") -> BiQuery:
    return BiQuery("r1", token, None, token, sql, source, None, None)


def resolve(queries, config=None):
    config = config or {"1": {"search_path": ["marts"]}}
    return resolve_query_refs(queries, SOURCES, {}, RELATIONS, lambda i, n: config.get(str(i), {}), {})


def test_statuses():
    refs = resolve([query("q1", "select * from orders join scratch.tmp t on true"),
                    query("q2", "SELECT * FROM ORDERS", source="2")])
    got = {(r.query_token, r.raw): (r.status, tuple(r.candidates)) for r in refs.itertuples()}
    assert got[("q1", "orders")] == ("resolved", ("model.p.orders",))
    assert got[("q1", "scratch.tmp")][0] == "external"
    assert got[("q2", "ORDERS")] == ("ambiguous", ("model.p.finance_orders", "model.p.orders"))


def test_unparsed_query_protects_what_it_mentions():
    refs = resolve([query("bad", "SELEC * FORM customers WHERE ((")])
    (row,) = refs.itertuples()
    assert row.status == "unparsed" and list(row.candidates) == ["model.p.customers"] and row.reason


def test_dialect_override_from_data_source_params():
    refs = resolve([query("q", "select * from `marts`.`orders`")], {"1": {"dialect": "bigquery"}})
    assert refs["dialect"].tolist() == ["bigquery"] and refs["status"].tolist() == ["resolved"]


def test_summary_and_rate():
    refs = resolve([query("q1", "select * from orders"), query("q2", "select * from nowhere.x")])
    queries = pd.DataFrame({"data_source_id": ["1"], "data_source_name": ["Warehouse"]})
    table = resolution_summary(refs, queries)
    assert table.loc[0, "resolved"] == 1 and table.loc[0, "external"] == 1 and table.loc[0, "resolved_share"] == 0.5
    assert resolution_rate(refs) == 0.5
    problems = problem_refs(refs, pd.DataFrame({"token": ["r1"], "name": ["Report one"]}))
    assert problems["report"].tolist() == ["Report one"]


def test_query_without_reads_keeps_a_marker_row_with_its_template_path():
    refs = resolve([query("q1", "SELECT {{ n }} AS x"), query("q2", "select * from orders")])
    marker = refs[refs["query_token"] == "q1"]
    assert len(marker) == 1 and marker["status"].isna().all() and marker["template_path"].tolist() == ["rendered"]
    assert resolution_rate(refs) == 1.0
    assert problem_refs(refs, pd.DataFrame({"token": ["r1"], "name": ["R"]})).empty
    assert set(query_paths(refs)["template_path"]) == {"plain", "rendered"}


def test_bigquery_default_database_comes_from_the_host():
    sources = {"3": DataSource("3", None, "BQ", "jdbc:bigquery", "default", "acme-prod")}
    relations = [Relation("model.p.orders", "acme-prod", "marts", "orders"),
                 Relation("model.p.orders_dev", "acme-dev", "marts", "orders")]
    refs = resolve_query_refs([query("q", "select * from marts.orders", "3")], sources, {}, relations,
                              lambda i, n: {}, {})
    assert refs["default_database"].tolist() == ["acme-prod"]
    assert refs["status"].tolist() == ["resolved"] and list(refs["candidates"][0]) == ["model.p.orders"]


def test_bigquery_params_default_database_wins_over_host():
    source = DataSource("3", None, "BQ", "jdbc:bigquery", "default", "acme-prod")
    assert default_database(source, "bigquery") == "acme-prod"
    assert default_database(DataSource("1", None, "PG", "jdbc:postgresql", "default", "h"), "postgres") == "default"
    refs = resolve_query_refs([query("q", "select * from marts.orders", "3")], {"3": source}, {},
                              [Relation("model.p.orders", "acme-dev", "marts", "orders")],
                              lambda i, n: {"default_database": "acme-dev"}, {})
    assert refs["status"].tolist() == ["resolved"]


def test_bad_inputs_never_break_resolution():
    from tests.sql.test_reads import BAD_INPUTS

    queries = [query(label, sql) for label, sql in BAD_INPUTS.items()]
    refs = resolve(queries)
    assert set(refs["query_token"]) == set(BAD_INPUTS)
    unparsed = refs[refs["status"] == "unparsed"]
    assert (unparsed["reason"].str.len() > 0).all()
    for label in ("binary_junk", "empty", "one_megabyte", "unbalanced_single_quote"):
        assert refs.loc[refs["query_token"] == label, "status"].tolist() == ["unparsed"], label


def test_definitions_are_expanded_and_missing_ones_reported():
    definitions = {"paid": Definition(None, "paid", "SELECT * FROM marts.customers", "1")}
    refs = resolve_query_refs([query("q", "SELECT * FROM {{ @paid }} JOIN {{ @gone }} ON TRUE")], SOURCES,
                              definitions, RELATIONS, lambda i, n: {}, {})
    (row,) = refs.itertuples()
    assert row.status == "resolved" and list(row.candidates) == ["model.p.customers"]
    assert list(row.missing_definitions) == ["gone"] and "@gone" in row.template_note


def test_cache_dir_makes_the_second_run_read_the_cache(tmp_path):
    queries = [query(f"q{i}", f"select * from marts.orders where id = {i}") for i in range(3)]
    first = resolve_query_refs(queries, SOURCES, {}, RELATIONS, lambda i, n: {}, {}, tmp_path, 1)
    assert (tmp_path / "extractions.parquet").exists()
    second = resolve_query_refs(queries, SOURCES, {}, RELATIONS, lambda i, n: {}, {}, tmp_path, 1)
    pd.testing.assert_frame_equal(first, second)


def test_common_causes_name_the_cause_and_an_example():
    from lineage_utils.publish import views

    refs = resolve([query("q1", "SELECT * FROM ORDERS", source="2"), query("q2", "select * from nowhere.x"),
                    query("q3", "select * from nowhere.y"), query("q4", "SELEC nope"), query("q5", "SELECT 1")])
    causes = views.common_causes(refs)
    got = {row.cause: (row.status, row.references, row.example) for row in causes.itertuples()}
    assert got["schema 'nowhere' holds no dbt relation"] == ("external", 2, "nowhere.x")
    assert got["unqualified name matches relations in several schemas"][0] == "ambiguous"
    assert got["parse error"][0] == "unparsed"
    assert len(causes) == 3 and causes["share"].sum() == 1.0


# -- the whole-result cache (an identical re-run neither parses nor resolves) --------------
def resolve_cached(queries, cache_dir, relations=RELATIONS):
    config = {"1": {"search_path": ["marts"]}}
    return resolve_query_refs(queries, SOURCES, {}, relations, lambda i, n: config.get(str(i), {}), {}, cache_dir)


def comparable(frame: pd.DataFrame) -> list:
    return [[list(v) if hasattr(v, "__len__") and not isinstance(v, str) else v for v in row]
            for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False)]


def test_identical_rerun_is_served_without_parsing(tmp_path, monkeypatch):
    from lineage_utils.lineage import query_refs

    queries = [query("q1", "select * from orders"), query("q2", "SELEC nonsense FORM customers")]
    first = resolve_cached(queries, tmp_path)
    monkeypatch.setattr(query_refs, "extract_all", lambda *a, **k: pytest.fail("an identical re-run parsed again"))
    again = resolve_cached(queries, tmp_path)
    assert comparable(again) == comparable(first)


def test_changed_query_or_relations_are_resolved_again(tmp_path):
    first = resolve_cached([query("q1", "select * from orders")], tmp_path)
    edited = resolve_cached([query("q1", "select * from customers")], tmp_path)
    assert first["candidates"].map(list).tolist() == [["model.p.orders"]]
    assert edited["candidates"].map(list).tolist() == [["model.p.customers"]]
    fewer = resolve_cached([query("q1", "select * from customers")], tmp_path, RELATIONS[:2])
    assert fewer["status"].tolist() == ["external"]


def test_corrupt_result_cache_is_ignored(tmp_path):
    queries = [query("q1", "select * from orders")]
    resolve_cached(queries, tmp_path)
    for path in tmp_path.glob("refs-*.parquet"):
        path.write_bytes(b"not parquet")
    assert resolve_cached(queries, tmp_path)["status"].tolist() == ["resolved"]


def test_only_a_few_results_are_kept(tmp_path):
    for n in range(6):
        resolve_cached([query("q1", f"select * from orders where id = {n}")], tmp_path)
    assert len(list(tmp_path.glob("refs-*.parquet"))) == 3
