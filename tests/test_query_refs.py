"""Query references: statuses per reference, mentions for unparsed queries, summaries."""

from __future__ import annotations

import pandas as pd

from lineage_utils.bi_snapshot import BiQuery, DataSource
from lineage_utils.query_refs import problem_refs, resolution_rate, resolution_summary, resolve_query_refs
from lineage_utils.sql_refs import Relation

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
