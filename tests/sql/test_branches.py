"""Conditional reads are never lost: Liquid branches that fail, or are never tried, still protect.

Each case is a real Mode template rendered by python-liquid: a model read only in a
non-default branch must end up protected (a conditional read, or a conditional
``unparsed`` mention row of ``query_refs``) with the reason recorded.
"""

from __future__ import annotations

import functools

import pandas as pd
import pytest

from lineage_utils.bi.snapshot import BiQuery, DataSource
from lineage_utils.lineage import query_refs as query_refs_module
from lineage_utils.lineage.query_refs import problem_refs, resolve_query_refs
from lineage_utils.sql import batch
from lineage_utils.sql.branches import UNREAD_NOTE, branch_bodies, unread_branches, unread_note
from lineage_utils.sql.mentions import unread_branch_texts
from lineage_utils.sql.reads import extract_reads
from lineage_utils.sql.templates import BUDGET_NOTE, render_template

RELATIONS = [
    query_refs_module.Relation("model.p.orders", "db", "marts", "orders"),
    query_refs_module.Relation("model.p.returns", "db", "marts", "returns"),
    query_refs_module.Relation("model.p.refunds", "db", "marts", "refunds"),
    query_refs_module.Relation("model.p.all", "db", "marts", "all"),
]
SOURCES = {"1": DataSource("1", None, "Warehouse", "jdbc:postgresql", "db", None)}
FORM = "\n{% form %}\nshow:\n  default: false\n{% endform %}"


def refs_of(sql: str) -> pd.DataFrame:
    query = BiQuery("r1", "q1", None, "q1", sql, "1", None, None)
    return resolve_query_refs([query], SOURCES, {}, RELATIONS, lambda i, n: {"search_path": ["marts"]}, {})


def protected(refs: pd.DataFrame) -> dict[str, tuple[str, bool]]:
    """model -> (status, conditional) of the rows that link it to the query."""
    return {c: (r.status, bool(r.conditional)) for r in refs.itertuples() for c in r.candidates}


def unread_row(refs: pd.DataFrame):
    (row,) = [r for r in refs.itertuples() if r.status == "unparsed"]
    return row


def test_branch_that_fails_to_render_is_retried_with_its_tags_stripped():
    sql = ("SELECT * FROM marts.orders o\n{% if show %}JOIN marts.returns r ON r.id = o.id "
           "AND r.n > {{ 10 | divided_by: 0 }}{% endif %}" + FORM)
    refs = refs_of(sql)
    assert protected(refs)["model.p.returns"] == ("resolved", True)
    assert "branch 1: Liquid rendering failed (FilterArgumentError" in refs["template_note"].iloc[0]


def test_branch_that_fails_to_render_and_then_to_parse_protects_what_it_mentions():
    sql = ("SELECT * FROM marts.orders o\n{% if show %}JOIN {{ 'x' | divided_by: 0 }} marts.returns r "
           "ON TRUE{% endif %}" + FORM)
    refs = refs_of(sql)
    row = unread_row(refs)
    assert list(row.candidates) == ["model.p.returns"] and row.conditional and row.parsed
    assert row.reason.startswith(f"{UNREAD_NOTE} [1]: #1 parse error")
    assert "FilterArgumentError" in row.template_note  # the render failure is recorded too


def test_branch_that_renders_but_does_not_parse_protects_what_it_mentions():
    sql = "SELECT * FROM marts.orders\n{% if show %}JOIN marts.refunds USING ((({% endif %}" + FORM
    refs = refs_of(sql)
    assert protected(refs) == {"model.p.orders": ("resolved", False), "model.p.refunds": ("unparsed", True)}
    assert UNREAD_NOTE in unread_row(refs).reason


def test_branch_needing_the_undefined_variable_fallback_is_read():
    sql = ("SELECT * FROM marts.orders o\n{% if show %}JOIN marts.returns r ON r.amount > {{ min_amount }}"
           "{% endif %}" + FORM)
    refs = refs_of(sql)
    assert protected(refs)["model.p.returns"] == ("resolved", True)
    assert "branch 1: variables without a default rendered as 1" in refs["template_note"].iloc[0]
    assert "unparsed" not in set(refs["status"])


def test_unread_branch_reason_reaches_the_problem_table():
    sql = "SELECT * FROM marts.orders\n{% if show %}JOIN marts.refunds USING ((({% endif %}" + FORM
    table = problem_refs(refs_of(sql), pd.DataFrame({"token": ["r1"], "name": ["Report"]}))
    (row,) = table[table["status"] == "unparsed"].itertuples()
    assert row.candidates == "model.p.refunds" and row.conditional and UNREAD_NOTE in row.reason


def test_only_the_failed_branch_text_is_scanned():
    sql = ("SELECT * FROM marts.orders\n{% if show %}JOIN marts.refunds USING ((({% else %}"
           "-- returns are elsewhere\n{% endif %}" + FORM)
    assert list(unread_row(refs_of(sql)).candidates) == ["model.p.refunds"]


def test_mentions_of_an_unread_branch_skip_keywords():
    sql = "SELECT * FROM marts.orders\n{% if show %}UNION ALL SELECT * FROM (((marts.refunds{% endif %}" + FORM
    assert list(unread_row(refs_of(sql)).candidates) == ["model.p.refunds"]  # not model.p.all


def test_branches_past_the_variant_cap_are_protected():
    joins = "".join(f"{{% if p == {i} %}}JOIN marts.t{i} ON TRUE{{% endif %}}\n" for i in range(40))
    sql = "SELECT * FROM marts.orders\n" + joins + "{% if p == 99 %}JOIN marts.returns ON TRUE{% endif %}" + FORM
    refs = refs_of(sql)
    assert protected(refs)["model.p.returns"] == ("unparsed", True)
    assert "41 Liquid branches, only 32 tried" in refs["template_note"].iloc[0]
    assert "#33-41 not tried (variant cap)" in unread_row(refs).reason


def test_branches_left_by_the_time_budget_are_protected(monkeypatch):
    monkeypatch.setattr(batch, "extract_reads", functools.partial(extract_reads, time_budget=0.0))
    sql = "SELECT * FROM marts.orders\n{% if show %}JOIN marts.returns ON TRUE{% endif %}" + FORM
    refs = refs_of(sql)
    assert protected(refs)["model.p.returns"] == ("unparsed", True)
    assert BUDGET_NOTE in refs["template_note"].iloc[0] and "not tried (time budget)" in unread_row(refs).reason


def test_time_budget_while_parsing_marks_the_rest_unread(monkeypatch):
    sql = "SELECT * FROM s.base\n{% if show %}JOIN s.extra ON TRUE{% endif %}" + FORM
    clock = iter([0.0, 0.0])  # the deadline is set and the variant rendered in time; parsing is late
    monkeypatch.setattr("time.perf_counter", lambda: next(clock, 10.0))
    extraction = extract_reads(sql, "postgres", time_budget=1.0)
    assert [r.name for r in extraction.reads] == ["base"]
    assert unread_branches(extraction.reason) == (1,) and "not parsed (time budget)" in extraction.reason


def test_a_branch_naming_a_table_only_template_logic_knows_is_unread():
    sql = "SELECT * FROM s.base\n{% if show %}JOIN s.t_{{ suffix }}x ON TRUE{% endif %}" + FORM
    extraction = extract_reads(sql, "postgres")
    assert [r.name for r in extraction.reads] == ["base"] and unread_branches(extraction.reason) == (1,)


def test_duplicate_renderings_keep_every_branch_number():
    sql = "SELECT * FROM s.a {% if x %}{{ u }} ((({% elsif y %}{{ v }} ((({% endif %}"
    extraction = extract_reads(sql, "postgres")
    assert unread_branches(extraction.reason) == (1, 2)


@pytest.mark.parametrize("numbers", [[(1, "a")], [(3, "a"), (4, "a"), (5, "b"), (9, "b")]])
def test_unread_note_round_trips(numbers):
    note = unread_note(numbers)
    assert unread_branches("earlier; " + note) == tuple(n for n, _ in numbers)


def test_unread_note_writes_ranges():
    assert unread_note([(2, "x"), (3, "x"), (4, "y")]).startswith(f"{UNREAD_NOTE} [2-3, 4]: #2-3 x; #4 y")
    assert unread_note([]) is None and unread_branches(None) == ()


def test_branch_texts_follow_render_template_numbering():
    sql = "A{% if a %}one{% else %}{% if b %}two{% endif %}{% endif %}{% case c %}{% when 1 %}three{% endcase %}"
    assert branch_bodies(sql)[0] == "one" and branch_bodies(sql)[2:] == ("two", "three")
    texts, note = unread_branch_texts(sql, None, unread_note([(3, "why"), (4, "why")]))
    assert texts == ("two", "three") and note.startswith(UNREAD_NOTE)
    assert len(render_template(sql).variants) >= 3


def test_branch_texts_expand_definitions():
    sql = "SELECT 1 {% if a %}JOIN {{ @d as x }} ON TRUE{% endif %}"
    texts, _ = unread_branch_texts(sql, {"d": "SELECT * FROM marts.returns"}, unread_note([(1, "why")]))
    assert "marts.returns" in texts[0]


def test_branch_number_past_the_last_gives_the_whole_text():
    texts, _ = unread_branch_texts("SELECT * FROM lbps", None, unread_note([(7, "why")]))
    assert texts == ("SELECT * FROM lbps",)
