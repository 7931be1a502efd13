"""The unparsed-mention guard: identifier tokens in the query's dialect, erring toward keeping.

Choices these tests pin (see ``lineage_utils.sql.mentions``): keywords are not mentions
unless they stand where a table name can; names in string literals and comments count
(tokenized again, so keywords there still do not); Liquid text counts word by word.
"""

from __future__ import annotations

import pytest

from lineage_utils.bi.snapshot import BiQuery, DataSource, Definition
from lineage_utils.lineage.query_refs import resolve_query_refs
from lineage_utils.sql.mentions import mentioned_names
from lineage_utils.sql.resolve import Relation, RelationIndex

DIALECTS = ["", "postgres", "snowflake", "bigquery", "tsql", "mysql", "duckdb", "databricks", "redshift", "trino"]
RELATIONS = [
    Relation("model.p.all", "db", "marts", "all"),
    Relation("model.p.events", "db", "marts", "events"),
    Relation("model.p.lbps", "db", "marts", "lbps"),
    Relation("model.p.orders", "db", "marts", "orders"),
    Relation("model.p.select", "db", "marts", "select"),
    Relation("model.p.orders_v2", "db", "marts", "orders-v2"),
]


def mentions(sql: str, dialect: str = "postgres") -> set[str]:
    return {uid.rsplit(".", 1)[-1] for uid in RelationIndex(RELATIONS, dialect).mentions(sql)}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_union_all_does_not_protect_a_model_named_all(dialect):
    assert mentions("SELECT a FROM x UNION ALL SELECT a FROM y WHERE b = ALL (SELECT 1)", dialect) == set()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_select_from_events_protects_events(dialect):
    assert mentions("select * from events", dialect) == {"events"}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_keyword_where_a_table_can_stand_counts(dialect):
    assert mentions("SELECT * FROM analytics.all", dialect) == {"all"}
    assert mentions("SELECT * FROM all", dialect) == {"all"}
    assert mentions("SELECT * FROM x LEFT JOIN all ON TRUE", dialect) == {"all"}
    assert mentions("SELECT * FROM x, all", dialect) == {"all"}


def test_keyword_after_a_comma_outside_from_does_not_count():
    assert mentions("SELECT a, all FROM x") == set()


@pytest.mark.parametrize("dialect", ["postgres", "snowflake", "duckdb", "trino"])
def test_double_quoted_names_count(dialect):
    assert mentions('SELECT * FROM "marts"."LBPS" JOIN "all" ON TRUE', dialect) == {"lbps", "all"}


def test_backquoted_dotted_name_counts_in_bigquery():
    assert mentions("SELECT * FROM `proj.marts.lbps` UNION ALL SELECT 1", "bigquery") == {"lbps"}


def test_bracketed_name_counts_in_tsql():
    assert mentions("SELECT * FROM [marts].[all] UNION ALL SELECT 1", "tsql") == {"all"}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_name_in_a_string_literal_counts(dialect):
    # dynamic SQL and name-as-string APIs are why a query is unparsed: erring toward keeping
    assert mentions("SELECT * FROM x WHERE unit = 'lbps'", dialect) == {"lbps"}


def test_keywords_inside_a_string_do_not_count():
    assert mentions("EXECUTE IMMEDIATE 'SELECT 1 UNION ALL SELECT * FROM events'", "snowflake") == {"events"}


def test_dollar_quoted_script_body_is_read_in_snowflake():
    assert mentions("EXECUTE IMMEDIATE $$ BEGIN SELECT * FROM lbps UNION ALL SELECT 1; END $$", "snowflake") == {"lbps"}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_name_in_a_comment_counts_but_keywords_there_do_not(dialect):
    assert mentions("SELECT 1 -- JOIN lbps UNION ALL\n/* events, select */", dialect) == {"lbps", "events"}


def test_comment_only_text_counts():
    assert mentions("-- from lbps") == {"lbps"}


def test_hash_comment_in_mysql():
    assert mentions("SELECT 1 # from lbps union all", "mysql") == {"lbps"}


def test_liquid_text_counts_word_by_word():
    assert mentions("SELECT * FROM {{ schema }}.lbps {% if t == 'events' %}WHERE 1{% endif %}") == {"lbps", "events"}
    assert mentions("{% assign t = 'orders' %}SELECT * FROM {{ t }} UNION ALL SELECT 1") == {"orders"}


def test_liquid_tag_names_and_delimiters_are_not_mentions():
    assert mentions("SELECT 1 {% if x %}{% endif %}{{ y }}", "postgres") == set()
    assert mentions("SELECT * FROM {% if x %}{% endif %} UNION ALL SELECT 1") == set()


def test_form_defaults_count():
    assert mentions("SELECT * FROM {{ t }}\n{% form %}\nt:\n  default: marts.lbps\n{% endform %}") == {"lbps"}


def test_untokenizable_text_falls_back_to_words():
    # the former guard: every word, keywords included
    assert mentions("SELECT * FROM lbps WHERE x = 'unterminated UNION ALL") == {"lbps", "all", "select"}


def test_identifier_that_is_not_a_word_is_matched_as_text():
    assert mentions("SELECT * FROM marts.orders-v2") == {"orders_v2", "orders"}


def test_any_case_counts():
    assert mentions("SELECT * FROM Marts.LBPS", "snowflake") == {"lbps"}


def test_a_model_named_like_a_keyword_used_as_one_is_not_protected():
    assert mentions("SELECT a FROM x") == set()  # `select` is a model name here, and the keyword


def test_mentioned_names_lists_dotted_parts():
    assert {"proj", "marts", "lbps", "proj.marts.lbps"} <= mentioned_names("SELECT * FROM `proj.marts.lbps`", "bigquery")


def test_bigquery_partition_decorator_mentions_the_table():
    assert mentions("SELECT * FROM ds.lbps$20240101 UNION ALL SELECT * FROM `ds.events$__NULL__`", "bigquery") == {
        "lbps", "events"}


def test_unparsed_query_protects_what_its_definitions_mention():
    query = BiQuery("r1", "q1", None, "q1", "SELEC * FORM {{ @base }} UNION ALL ((", "1", None, None)
    definitions = {"base": Definition(None, "base", "SELECT * FROM marts.lbps", "1")}
    sources = {"1": DataSource("1", None, "Warehouse", "jdbc:postgresql", "db", None)}
    refs = resolve_query_refs([query], sources, definitions, RELATIONS, lambda i, n: {}, {})
    (row,) = refs.itertuples()
    assert row.status == "unparsed" and list(row.candidates) == ["model.p.lbps"]
