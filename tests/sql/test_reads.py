"""extract_reads: scopes, statements, unparsed inputs, conditional reads, robustness."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage_utils.sql.reads import MAX_SQL_CHARS, PASSES, extract_reads


def _load_corpus_cases():
    """The corpus cases, via the corpus test module's loader (works with or without packages)."""
    spec = importlib.util.spec_from_file_location("_sql_corpus", Path(__file__).with_name("test_corpus.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("_sql_corpus", module)
    spec.loader.exec_module(module)
    return module.CASES


CASES = _load_corpus_cases()


def names(sql: str, dialect: str = "postgres", **kwargs) -> set[str]:
    extraction = extract_reads(sql, dialect, **kwargs)
    assert extraction.parsed, extraction.reason
    return {".".join(p for p in (r.catalog, r.db, r.name) if p) for r in extraction.reads}


def test_passes_are_declared_in_order():
    assert [p.__name__ for p in PASSES] == ["check_input", "render", "parse", "collect"]


def test_cte_name_is_not_a_read():
    assert names("WITH c AS (SELECT * FROM s.t) SELECT * FROM c") == {"s.t"}


def test_alias_is_not_a_read():
    assert names("SELECT x.a FROM s.t AS x") == {"s.t"}


def test_table_function_is_not_a_read():
    assert names("SELECT * FROM generate_series(1, 3) g") == set()


def test_where_subquery_counts():
    assert names("SELECT * FROM a WHERE id IN (SELECT id FROM b)") == {"a", "b"}


def test_insert_target_is_not_a_read():
    assert names("INSERT INTO tgt SELECT * FROM src") == {"src"}


def test_merge_reads_using_side_only():
    sql = "MERGE INTO tgt t USING src s ON t.id = s.id WHEN MATCHED THEN DELETE"
    assert names(sql, "snowflake") == {"src"}


def test_table_created_in_query_is_not_a_read():
    assert names("CREATE TEMP TABLE tmp AS SELECT * FROM a; SELECT * FROM tmp") == {"a"}


def test_every_statement_is_read():
    assert names("SELECT * FROM a; SELECT * FROM b;") == {"a", "b"}


def test_reads_are_deduplicated_and_sorted():
    extraction = extract_reads("SELECT * FROM b JOIN a ON 1=1 JOIN b b2 ON 1=1", "postgres")
    assert [r.name for r in extraction.reads] == ["a", "b"]


def test_raw_keeps_the_reference_as_written():
    (read,) = extract_reads('SELECT * FROM MARTS."Fct_Orders" o', "snowflake").reads
    assert read.raw == 'MARTS."Fct_Orders"' and read.quoted == (False, False, True)


def test_command_statement_makes_query_unparsed():
    extraction = extract_reads("SELECT * FROM a; EXPLAIN SELECT * FROM b", "postgres")
    assert not extraction.parsed and extraction.reads == () and "EXPLAIN" in extraction.reason


def test_parse_error_is_unparsed_with_reason():
    extraction = extract_reads("SELECT * FROM", "postgres")
    assert not extraction.parsed and extraction.reason.startswith("parse error")


def test_comments_only_is_empty():
    extraction = extract_reads("-- nothing\n/* at all */", "postgres")
    assert (extraction.parsed, extraction.reason) == (False, "empty")


def test_whitespace_is_empty():
    assert extract_reads("  \n\t", "postgres").reason == "empty"


def test_binary_input_is_unparsed():
    extraction = extract_reads("SELECT \x00\x01\x02 FROM t", "postgres")
    assert not extraction.parsed and "binary" in extraction.reason


def test_too_long_query_is_refused_quickly():
    started = time.perf_counter()
    extraction = extract_reads("SELECT 1 FROM t " * (MAX_SQL_CHARS // 10), "postgres")
    assert not extraction.parsed and "too long" in extraction.reason
    assert time.perf_counter() - started < 1


def test_long_query_parses():
    sql = "SELECT * FROM s.t0 " + " ".join(f"LEFT JOIN s.t{i} ON TRUE" for i in range(1, 3000))
    assert len(names(sql)) == 3000


def test_liquid_branch_not_taken_is_conditional():
    sql = "SELECT * FROM {% if g == 'w' %}w{% else %}d{% endif %}\n{% form %}\ng:\n  default: d\n{% endform %}"
    reads = {r.name: r.conditional for r in extract_reads(sql, "postgres").reads}
    assert reads == {"d": False, "w": True}


def test_template_path_is_reported():
    assert extract_reads("SELECT {{ x }} FROM t", "postgres").template_path == "rendered"


def test_fallback_never_turns_a_variable_into_a_table():
    extraction = extract_reads("SELECT * FROM {{ tbl }} {% if %}", "postgres")
    assert extraction.template_path == "fallback" and all(r.name != "tbl" for r in extraction.reads)


def test_table_name_made_by_liquid_logic_is_unparsed():
    extraction = extract_reads('SELECT * FROM {{ "ord" | append: "ers" }}', "postgres")
    assert not extraction.parsed and "not in the query text" in extraction.reason


def test_missing_definitions_are_listed():
    extraction = extract_reads("SELECT * FROM {{ @gone }}", "postgres")
    assert extraction.parsed and extraction.missing_definitions == ("gone",) and extraction.reads == ()


def test_generic_dialect_is_accepted():
    assert names("SELECT * FROM a.b", "") == {"a.b"}


def test_bytes_that_are_not_utf8_are_unparsed():
    assert extract_reads(b"\xff\xfe\x00", "postgres").parsed is False  # type: ignore[arg-type]


def _check_invariants(sql: str, dialect: str) -> None:
    extraction = extract_reads(sql, dialect)
    lowered = sql.lower()
    for read in extraction.reads:
        assert read.name.lower() in lowered
    if not extraction.parsed:
        assert extraction.reads == () and extraction.reason


_CORPUS = [(c.sql, c.dialect) for c in CASES if not c.definitions and len(c.sql) < 5_000]
_SQL_ALPHABET = st.sampled_from(list("abcxyz_.,;()'\"` \n{}%@*=-/") + ["SELECT ", "FROM ", "JOIN ", "{{", "}}", "{%", "%}", "WITH "])


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=300), dialect=st.sampled_from(["postgres", "snowflake", "bigquery", "tsql", ""]))
def test_random_text_never_raises(text, dialect):
    _check_invariants(text, dialect)


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.sampled_from(_CORPUS),
    cut=st.integers(min_value=0, max_value=2000),
    length=st.integers(min_value=0, max_value=40),
    insert=st.lists(_SQL_ALPHABET, max_size=6).map("".join),
)
def test_mutated_corpus_queries_never_raise(case, cut, length, insert):
    sql, dialect = case
    cut = min(cut, len(sql))
    _check_invariants(sql[:cut] + insert + sql[cut + length :], dialect)


# -- bad input: each is recorded with a status and a reason, none raises ----------------
BAD_INPUTS = {
    "binary_junk": bytes(range(256)).decode("latin-1") * 4,
    "empty": "",
    "one_megabyte": "SELECT a FROM s.t WHERE x = 'y' -- padding\n" * (1_048_576 // 43 + 1),
    "unbalanced_single_quote": "SELECT * FROM s.t WHERE name = 'open",
    "unbalanced_double_quote": 'SELECT * FROM s."t WHERE 1 = 1',
    "unbalanced_parenthesis": "SELECT * FROM (SELECT * FROM s.t",
    "unterminated_output": "SELECT * FROM s.t WHERE x = {{ value",
    "unterminated_tag": "SELECT * FROM s.t {% if x %} WHERE x = 1",
    "unterminated_form": "SELECT * FROM s.t\n{% form %}\nx:\n  default: 1\n",
}


def test_bad_inputs_are_recorded_with_a_reason_and_never_raise():
    for label, sql in BAD_INPUTS.items():
        started = time.perf_counter()
        extraction = extract_reads(sql, "postgres")
        assert time.perf_counter() - started < 5, label
        assert extraction.parsed or extraction.reason, label
        assert extraction.template_path in ("plain", "rendered", "fallback"), label
        for read in extraction.reads:
            assert read.name.lower() in sql.lower(), label


def test_one_megabyte_query_is_refused_as_too_long():
    extraction = extract_reads(BAD_INPUTS["one_megabyte"], "postgres")
    assert not extraction.parsed and "too long" in extraction.reason


def test_unterminated_template_falls_back_without_inventing_tables():
    extraction = extract_reads(BAD_INPUTS["unterminated_tag"], "postgres")
    assert extraction.template_path == "fallback" and "Liquid rendering failed" in extraction.reason
    assert [(r.db, r.name) for r in extraction.reads] == [("s", "t")]  # the tags stripped, s.t is read


def test_unbalanced_quote_is_unparsed_with_reason():
    extraction = extract_reads(BAD_INPUTS["unbalanced_single_quote"], "postgres")
    assert not extraction.parsed and extraction.reason


def test_variant_time_budget_records_its_reason():
    branches = "\n".join(f"{{% if p == {i} %}}JOIN s.t{i} ON TRUE{{% endif %}}" for i in range(30))
    sql = f"SELECT * FROM s.base\n{branches}\n{{% form %}}\np:\n  default: 0\n{{% endform %}}"
    started = time.perf_counter()
    extraction = extract_reads(sql, "postgres", time_budget=0.0)
    assert time.perf_counter() - started < 1
    assert extraction.parsed and "time budget" in extraction.reason
    assert {r.name: r.conditional for r in extraction.reads}["base"] is False
    full = extract_reads(sql, "postgres", time_budget=None)
    assert len(full.reads) == 31 and full.reason is None


def test_plain_query_renders_no_variants():
    from lineage_utils.sql.templates import render_template

    assert render_template("SELECT * FROM t").variants == ()
    assert render_template("SELECT {{ x }} FROM t").variants == ()


# statements sqlglot does not parse whole (lineage_utils.sql.statements) and write targets


def test_tsql_statements_without_semicolons_are_split():
    assert names("SELECT * FROM dbo.a\nSELECT * FROM dbo.b", "tsql") == {"dbo.a", "dbo.b"}


def test_tsql_split_keeps_insert_select_and_table_hints_together():
    sql = "INSERT INTO dbo.t SELECT * FROM dbo.s WITH (NOLOCK)\nSELECT * FROM dbo.u"
    assert names(sql, "tsql") == {"dbo.s", "dbo.u"}


def test_procedure_body_is_analysed():
    sql = "CREATE PROCEDURE dbo.p AS BEGIN SELECT * FROM dbo.a SELECT * FROM dbo.b END"
    assert names(sql, "tsql") == {"dbo.a", "dbo.b"}


def test_snowflake_dollar_quoted_body_keeps_raw_offsets():
    sql = "CREATE PROCEDURE p() RETURNS INT LANGUAGE SQL AS $$ BEGIN SELECT * FROM Raw.Orders; RETURN 1; END $$"
    (read,) = extract_reads(sql, "snowflake").reads
    assert read.raw == "Raw.Orders"


def test_non_sql_procedure_body_reads_nothing():
    sql = "CREATE PROCEDURE p() RETURNS INT LANGUAGE JAVASCRIPT AS $$ return 1; $$"
    assert names(sql, "snowflake") == set()


def test_garbage_inside_a_block_stays_unparsed():
    extraction = extract_reads("BEGIN\n SELEC x FROM t;\nEND;", "snowflake")
    assert not extraction.parsed and extraction.reason


def test_insert_values_scalar_subquery_is_read_target_is_not():
    assert names("INSERT INTO t VALUES ((SELECT max(id) FROM s), 1)") == {"s"}


def test_create_table_like_and_clone_read_the_source():
    assert names("CREATE TABLE n LIKE o", "mysql") == {"o"}
    assert names("CREATE TABLE n CLONE db.s.o", "snowflake") == {"db.s.o"}


def test_create_schema_clone_is_not_a_table_read():
    assert names("CREATE SCHEMA dev CLONE prod", "snowflake") == set()


def test_update_target_is_written_not_read():
    assert names("UPDATE o SET a = s.a FROM dbo.o o JOIN dbo.s s ON s.id = o.id", "tsql") == {"dbo.s"}
    assert names("UPDATE t JOIN s ON s.id = t.id SET t.a = s.a", "mysql") == {"s"}


def test_update_subquery_reading_the_target_is_a_read():
    assert names("UPDATE t SET a = (SELECT max(a) FROM t)") == {"t"}


def test_select_into_target_is_not_a_read():
    assert names("SELECT * INTO dbo.copy FROM dbo.orig; SELECT * FROM dbo.copy", "tsql") == {"dbo.orig"}


def test_bigquery_partition_decorator_reads_the_base_table():
    (read,) = extract_reads("SELECT * FROM `p.ds.t$20240101`", "bigquery").reads
    assert (read.catalog, read.db, read.name) == ("p", "ds", "t")


def test_dollar_in_a_name_outside_bigquery_is_kept():
    assert names("SELECT * FROM s.t$1", "snowflake") == {"s.t$1"}
