"""Data sources that are not the dbt warehouse: all reads external, flagged summaries, no false links."""

from __future__ import annotations

import pandas as pd
import pytest

from lineage_utils.bi.snapshot import BiQuery, DataSource
from lineage_utils.lineage.query_refs import resolution_summary, resolve_query_refs
from lineage_utils.sql import Relation

RELATIONS = [
    Relation("model.p.orders", "analytics", "marts", "orders"),
    Relation("model.p.customers", "analytics", "marts", "customers"),
    Relation("seed.p.targets", "analytics", "raw_plan", "targets"),
    Relation("source.p.plan.targets", "analytics", "raw_plan", "targets"),
]
SOURCES = {
    "1": DataSource("1", None, "Warehouse", "jdbc:postgresql", "analytics", None),
    "2": DataSource("2", None, "App DB", "jdbc:postgresql", "app", None),
    "3": DataSource("3", None, "Replica", "jdbc:mysql", None, None),
}
CONFIG = {"1": {"search_path": ["marts"]}, "3": {"warehouse": False}}
QUERIES_OF = pd.DataFrame({"data_source_id": ["1", "2", "3"], "data_source_name": ["Warehouse", "App DB", "Replica"]})


def query(token: str, sql: str, source: str) -> BiQuery:
    return BiQuery("r1", token, None, token, sql, source, None, None)


def resolve(queries, config=CONFIG, sources=SOURCES, cache_dir=None):
    return resolve_query_refs(queries, sources, {}, RELATIONS, lambda i, n: config.get(str(i), {}), {}, cache_dir)


def by_token(refs):
    return {r.query_token: r for r in refs.itertuples()}


def test_a_data_source_marked_not_the_warehouse_reads_only_external_tables():
    refs = by_token(resolve([query("q", "SELECT * FROM orders JOIN customers USING (id)", "3")]))
    assert refs["q"].status == "external" and list(refs["q"].candidates) == []
    assert "'Replica' (3) is not the dbt warehouse" in refs["q"].reason
    assert not refs["q"].warehouse and refs["q"].warehouse_status == "resolved"


def test_the_warehouse_flag_overrides_a_matching_database():
    sources = {**SOURCES, "4": DataSource("4", None, "Staging", "jdbc:postgresql", "analytics", None)}
    refs = resolve([query("q", "SELECT * FROM marts.orders", "4")], {"4": {"warehouse": False}}, sources)
    assert refs["status"].tolist() == ["external"] and refs["warehouse_status"].tolist() == ["resolved"]


def test_warehouse_true_is_the_default():
    refs = resolve([query("q", "SELECT * FROM marts.orders", "1")], {"1": {"warehouse": True}})
    assert refs["status"].tolist() == ["resolved"] and refs["warehouse"].tolist() == [True]
    assert refs["warehouse_status"].isna().all()


def test_an_app_database_is_told_apart_by_its_database():
    refs = by_token(resolve([query("q", "SELECT * FROM marts.orders", "2")]))
    assert refs["q"].status == "external" and "'app'" in refs["q"].reason


def test_params_default_database_wins_over_mode():
    refs = resolve([query("q", "SELECT * FROM marts.orders", "2")], {"2": {"default_database": "analytics"}})
    assert refs["status"].tolist() == ["resolved"] and refs["default_database"].tolist() == ["analytics"]


def test_unparsed_query_of_a_non_warehouse_source_protects_nothing():
    refs = by_token(resolve([query("bad", "SELEC * FORM orders WHERE ((", "3")]))
    assert refs["bad"].status == "unparsed" and list(refs["bad"].candidates) == []
    assert "protects nothing" in refs["bad"].reason


def test_unparsed_query_of_another_database_protects_only_what_it_qualifies_with_a_dbt_database():
    refs = by_token(resolve([query("bare", "SELEC * FORM orders WHERE ((", "2"),
                             query("qualified", "SELEC * FORM analytics.marts.orders WHERE ((", "2")]))
    assert list(refs["bare"].candidates) == []
    assert list(refs["qualified"].candidates) == ["model.p.orders"]


def test_unparsed_query_of_the_warehouse_still_protects_what_it_mentions():
    refs = by_token(resolve([query("bad", "SELEC * FORM orders WHERE ((", "1")]))
    assert list(refs["bad"].candidates) == ["model.p.orders"]


def test_seed_that_is_a_source_links_both_nodes():
    refs = by_token(resolve([query("q", "SELECT * FROM raw_plan.targets", "1")]))
    assert refs["q"].status == "resolved"
    assert sorted(refs["q"].candidates) == ["seed.p.targets", "source.p.plan.targets"]


def test_summary_counts_per_data_source_and_flags_an_app_database_taken_for_the_warehouse():
    refs = resolve([query("w", "SELECT * FROM orders JOIN customers USING (id)", "1")]
                   + [query(f"a{n}", f"SELECT * FROM orders_{n}", "2") for n in range(3)]
                   + [query("r", "SELECT * FROM customers", "3")])
    table = resolution_summary(refs, QUERIES_OF).set_index("data_source_id")
    assert table.loc["1", ["resolved", "external", "total"]].tolist() == [2, 0, 2]
    assert table.loc["2", ["resolved", "external"]].tolist() == [0, 3]
    assert table.loc["1", "flag"] == "" and table.loc["3", "flag"] == ""  # 3: too few to judge
    assert "bi.data_sources.2.warehouse: false" in table.loc["2", "flag"]
    assert table["warehouse"].to_dict() == {"1": True, "2": True, "3": False}


def test_summary_flags_the_warehouse_marked_not_the_warehouse():
    refs = resolve([query(f"q{n}", "SELECT * FROM marts.orders", "1") for n in range(3)], {"1": {"warehouse": False}})
    (flag,) = resolution_summary(refs, QUERIES_OF)["flag"]
    assert "3 of 3 references name dbt relations" in flag


def test_summary_of_a_healthy_workspace_flags_nothing():
    refs = resolve([query(f"q{n}", "SELECT * FROM orders", "1") for n in range(4)])
    assert resolution_summary(refs, QUERIES_OF)["flag"].tolist() == [""]


def test_a_cached_result_is_not_reused_when_the_warehouse_flag_changes(tmp_path):
    queries = [query("q", "SELECT * FROM marts.orders", "1")]
    assert resolve(queries, {}, cache_dir=tmp_path)["status"].tolist() == ["resolved"]
    assert resolve(queries, {"1": {"warehouse": False}}, cache_dir=tmp_path)["status"].tolist() == ["external"]


@pytest.mark.parametrize("name", ["calitp-warehouse", "mattermost-analytics", "spellbook-daily", "tuva"])
def test_generated_mixed_workspace_has_no_false_links(shared_data, name):
    """Real manifests' marts read on the warehouse and, by the same names, on three other data sources."""
    from benchmarks.bench_false_links import generate_workspace, measure

    figures = measure(generate_workspace(shared_data / "manifests" / name / "manifest.json.gz", queries=600))
    assert figures["app_queries"] > 30
    assert figures["false_link_queries"] == 0
    assert figures["kept_links"] == figures["warehouse_queries"]


@pytest.mark.slow
def test_demo_seed_that_is_a_source_is_one_table_linked_to_both(demo_run, demo_expected):
    from lineage_utils import stages

    refs = demo_run.read_frame("query_refs")
    graph = stages.load_graph(demo_run)
    for raw, candidates in demo_expected["one_table_references"].items():
        rows = refs[refs["raw"] == raw]
        assert len(rows) >= 1 and set(rows["status"]) == {"resolved"}, raw
        for row in rows.itertuples():
            assert sorted(row.candidates) == sorted(candidates)
            assert all(graph.edges[c, row.query_node_id]["status"] == "resolved" for c in candidates)


@pytest.mark.slow
def test_demo_app_database_reads_are_external_and_unflagged(demo_run, demo_expected):
    refs = demo_run.read_frame("query_refs")
    for query, raws in demo_expected["not_warehouse_queries"].items():
        rows = refs[refs["report_token"] + "." + refs["query_token"] == query]
        assert sorted(rows["raw"]) == sorted(raws)
        assert set(rows["status"]) == {"external"} and all(len(c) == 0 for c in rows["candidates"])
        assert not rows["warehouse"].any()
    table = resolution_summary(refs, demo_run.read_frame("queries"))
    assert table["flag"].tolist() == ["", "", ""]
    assert table.set_index("data_source_id").loc["1003", ["warehouse", "resolved", "external"]].tolist() == [False, 0, 2]
