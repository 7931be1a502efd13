"""The dry run's journal policy and its PR body: every line kept or replaced on purpose, outside text inert."""

from __future__ import annotations

import json
import re
from dataclasses import replace

from lineage_utils.actions.dry_run import journal_plan
from lineage_utils.actions.journal import Journal, action_key, journal_path, read_journal
from lineage_utils.actions.pr_body import RunFacts, escape_markdown, render_pr_body
from lineage_utils.actions.records import Action
from lineage_utils.lineage.orphans import Orphan

RUN = "20261101T000000Z"
HOSTILE = "evil | `x` <script>alert(1)</script>\n# Heading\r\n- [click](http://e.invalid) **b** ![i](x)"


def orphan(name: str, last_consumer_name: str | None = None) -> Orphan:
    return Orphan(unique_id=f"model.p.{name}", name=name, path=f"models/{name}.sql", reason="only_inactive_reports",
                  evidence="no path to a consumer; read only by inactive reports", downstream_models=(),
                  inactive_reports=("r1",), last_consumer="mode.report.r1", last_consumer_name=last_consumer_name,
                  last_consumer_last_run="2025-06-30T14:58:52Z", materialized="table", execution_time=0.5,
                  test_count=0, owner=None)


def deletion(o: Orphan, result: str = "planned", reason: str | None = None) -> Action:
    return Action(action="delete_model", target=o.unique_id, name=o.name, evidence=o.evidence, mode="dry_run",
                  result=result, run_id=RUN, path=o.path, reason=reason or o.reason)  # type: ignore[arg-type]


def rows(body: str) -> list[list[str]]:
    """The table rows of a Markdown body, split on unescaped pipes (as GitHub does)."""
    out = []
    for line in body.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            out.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return out


def test_a_hostile_model_and_report_name_stay_inert_in_the_table():
    models = [orphan(HOSTILE, last_consumer_name=HOSTILE), orphan("plain")]
    body = render_pr_body(models, [deletion(o) for o in models], {}, RUN, "/runs/x/index.html", None)
    table = rows(body)
    assert [len(r) for r in table] == [5, 5, 5]  # header + one row per model: no pipe broke out
    assert "<script" not in body and "<" not in body.replace("&lt;", "")
    assert not [line for line in body.splitlines() if line.startswith("#") and not line.startswith("## metapipeline")]
    hostile_row = next(r for r in table if "evil" in r[0])
    assert "`" not in hostile_row[0].replace("\\`", "") and "](" not in hostile_row[0]
    assert "\\*\\*b\\*\\*" in hostile_row[0] and "evil \\| \\`x\\`" in hostile_row[0]
    assert "evil" in hostile_row[2]  # the last consumer, escaped the same way


def test_escape_markdown_is_one_line_with_no_leading_block_marker():
    for text, leading in (("# h", "\\#"), ("- item", "\\-"), ("1. item", "1\\."), ("+ x", "\\+"), ("> q", "&gt;")):
        assert escape_markdown(text).startswith(leading), text
    assert "\n" not in escape_markdown("a\nb\u2028c\rd") and escape_markdown("a\x00b") == "ab"
    assert escape_markdown("x" * 700).endswith("...") and len(escape_markdown("x" * 700)) == 600


def test_the_body_has_last_run_runtime_and_dead_models():
    top = replace(orphan("stg_a"), downstream_models=("model.p.fct_a",))
    body = render_pr_body([top, orphan("fct_a")], [deletion(top), deletion(orphan("fct_a"))],
                          {"model.p.stg_a": RunFacts("2026-10-31T10:00:00Z", 1.25, "success")}, RUN,
                          "/runs/x/index.html", "metapipeline/cleanup-x")
    row = next(r for r in rows(body) if r[0] == "stg\\_a")
    assert row[1] == "models/stg\\_a.sql" and "2026-10-31T10:00:00Z \\(success, 1.25 s\\)" == row[3]
    assert row[4] == "dead models: fct\\_a"
    assert "last consumer" in row[2] and "2025-06-30T14:58:52Z" in row[2]
    assert "[run report](/runs/x/index.html)" in body and "metapipeline/cleanup-x" in body


def test_refused_deletions_are_listed_with_their_gate_not_proposed():
    model = orphan("a")
    refused = deletion(model, "refused", "fail_safe")
    body = render_pr_body([model], [replace(refused, evidence="fail-safe: 1 of 1 models")], {}, RUN, "i.html", None)
    assert "No model deletion is proposed by this run." in body
    assert rows(body)[-1] == ["a", "fail\\_safe", "fail-safe: 1 of 1 models"]


# -- the journal --------------------------------------------------------------------------------
def test_a_re_run_replaces_the_plan_when_nothing_was_applied(tmp_path):
    first = [deletion(orphan("a")), deletion(orphan("b"))]
    journal_plan(tmp_path, first)
    journal_plan(tmp_path, first[:1])
    lines = read_journal(journal_path(tmp_path))
    assert [(line["target"], line["event"]) for line in lines] == [("model.p.a", "planned")]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["actions.jsonl", "actions.jsonl.lock"]


def test_a_re_run_appends_after_an_apply_and_loses_no_line(tmp_path):
    planned = deletion(orphan("a"))
    journal_plan(tmp_path, [planned])
    journal = Journal.for_run(tmp_path)
    journal.started(planned)
    journal.finished(planned, "done")
    before = journal_path(tmp_path).read_bytes()
    journal_plan(tmp_path, [planned, deletion(orphan("b"))])
    after = journal_path(tmp_path).read_bytes()
    assert after.startswith(before)
    events = [(json.loads(line)["target"], json.loads(line)["event"]) for line in after.decode().splitlines()]
    assert events == [("model.p.a", "planned"), ("model.p.a", "started"), ("model.p.a", "finished"),
                      ("model.p.a", "planned"), ("model.p.b", "planned")]
    assert Journal.for_run(tmp_path).done(action_key(planned)) is not None  # the apply is still known
