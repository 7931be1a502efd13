"""One relation index serves data sources connected to different databases."""

from __future__ import annotations

import pytest

from lineage_utils.sql.reads import extract_reads
from lineage_utils.sql.resolve import Relation, RelationIndex

RELATIONS = [
    Relation("model.p.orders", "analytics", "marts", "orders"),
    Relation("model.p.customers", "analytics", "marts", "customers"),
    Relation("source.p.raw.orders", "raw", "shop", "orders"),
]


def read(sql: str, dialect: str = "postgres"):
    (only,) = extract_reads(sql, dialect).reads
    return only


@pytest.fixture
def index():
    return RelationIndex(RELATIONS, "postgres")


@pytest.mark.parametrize("sql", ["SELECT * FROM orders", "SELECT * FROM marts.orders", "SELECT * FROM customers"])
def test_same_names_in_an_app_database_are_external(index, sql):
    result = index.resolve(read(sql), "app", ("marts",))
    assert (result.status, result.candidates) == ("external", ())
    assert "'app'" in result.reason


def test_the_warehouse_database_resolves_the_same_names(index):
    assert index.resolve(read("SELECT * FROM orders"), "analytics", ("marts",)).candidates == ("model.p.orders",)


def test_answers_are_kept_per_database(index):
    """The index memoises by name and database: the app answer never leaks to the warehouse."""
    order = [("app", "external"), ("analytics", "resolved"), ("app", "external"), ("raw", "resolved")]
    for database, status in order:
        assert index.resolve(read("SELECT * FROM marts.orders" if database != "raw" else "SELECT * FROM shop.orders"),
                             database).status == status


def test_a_fully_qualified_name_reaches_its_own_database(index):
    result = index.resolve(read("SELECT * FROM analytics.marts.orders"), "app")
    assert result.candidates == ("model.p.orders",)


def test_database_names_follow_the_dialect(index):
    snowflake = RelationIndex(RELATIONS, "snowflake")
    assert snowflake.resolve(read("SELECT * FROM MARTS.ORDERS", "snowflake"), "ANALYTICS").status == "resolved"
    assert snowflake.resolve(read("SELECT * FROM MARTS.ORDERS", "snowflake"), "APP").status == "external"

