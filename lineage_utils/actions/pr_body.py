"""The pull-request body of a model cleanup: one Markdown table row per model removed (pure).

Each row names the model and its file, why it is an orphan (the orphan's reason and
evidence, its last consumer and when that consumer last ran), its last dbt run and
runtime (``run_results.json`` through ``dbt_nodes``), and the dead models, tests and
semantic-layer nodes that go with it. Deletions a gate refused are listed with the
gate's reason instead, so the body never proposes what the plan did not.

Every piece of outside text (model and report names, paths, evidence) goes through
``escape_markdown``: one line, with Markdown and HTML syntax made literal, so a hostile
name can neither break the table nor render as a heading, link, code span or tag
(DESIGN safety invariant 7).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from lineage_utils.actions.records import Action
from lineage_utils.lineage.orphans import Orphan

__all__ = ["CELL_LIMIT", "RunFacts", "escape_markdown", "render_exposures_body", "render_pr_body"]

CELL_LIMIT = 600
"""Characters of outside text kept in one table cell (GitHub caps a PR body at 65,536)."""
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_SPECIAL = re.compile(r"([\\`*_\[\]()!|~#])")
_LEADING = re.compile(r"^(\d+)([.)])|^([-+=])")


@dataclass(frozen=True)
class RunFacts:
    """A model's last dbt run, from ``run_results.json`` (None when dbt did not run it)."""

    completed_at: str | None = None
    execution_time: float | None = None
    status: str | None = None


def escape_markdown(value: object, limit: int = CELL_LIMIT) -> str:
    """Outside text as one inert line of Markdown: breaks and controls gone, syntax and HTML escaped, cut."""
    text = "" if value is None else str(value)
    text = " ".join(_CONTROL.sub("", _LINE_BREAKS.sub(" ", text)).split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    text = _SPECIAL.sub(r"\\\1", text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    return _LEADING.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text)  # no list or heading


def _code(value: object) -> str:
    """A name or path: escaped plain text (no code span: backslash escapes do not work inside one)."""
    return escape_markdown(value) or "-"


def _why(orphan: Orphan) -> str:
    parts = [f"{orphan.reason.replace('_', ' ')}: {orphan.evidence}"]
    if orphan.last_consumer_name or orphan.last_consumer:
        last = orphan.last_consumer_last_run or "never"
        parts.append(f"last consumer {orphan.last_consumer_name or orphan.last_consumer} (last run {last})")
    return escape_markdown("; ".join(parts))


def _last_run(facts: RunFacts | None) -> str:
    if facts is None or not facts.completed_at:
        return "not in run_results.json"
    runtime = f"{facts.execution_time:.2f} s" if facts.execution_time is not None else "runtime unknown"
    return escape_markdown(f"{facts.completed_at} ({facts.status or 'status unknown'}, {runtime})")


def _removed_with(orphan: Orphan, action: Action, names: Mapping[str, str]) -> str:
    parts = []
    if orphan.downstream_models:
        parts.append("dead models: " + ", ".join(names.get(m, m) for m in orphan.downstream_models))
    if action.tests:
        parts.append(f"{len(action.tests)} test{'s' if len(action.tests) != 1 else ''}")
    if action.semantic:
        parts.append("semantic layer: " + ", ".join(action.semantic))
    return escape_markdown("; ".join(parts)) or "-"


def _table(rows: list[Action], by_id: Mapping[str, Orphan], runs: Mapping[str, RunFacts],
           names: Mapping[str, str], last: str) -> list[str]:
    lines = [f"| model | path | why it is an orphan | last dbt run | {last} |", "|---|---|---|---|---|"]
    for action in rows:
        orphan = by_id[action.target]
        lines.append(f"| {_code(orphan.name)} | {_code(orphan.path)} | {_why(orphan)} | "
                     f"{_last_run(runs.get(orphan.unique_id))} | {_removed_with(orphan, action, names)} |")
    return lines + [""]


def _title(deleted: int, deprecated: int) -> str:
    what = ([f"remove {deleted}"] if deleted else []) + ([f"deprecate {deprecated}"] if deprecated else [])
    total = deleted + deprecated
    return f"{' and '.join(what)} orphan dbt model{'' if total == 1 else 's'}" if what else \
        "no orphan dbt model to remove"


def render_pr_body(orphans: Iterable[Orphan], actions: Iterable[Action], runs: Mapping[str, RunFacts],
                   run_id: str, run_link: str, branch: str | None, patch_note: str = "", *,
                   dry_run: bool = True) -> str:
    """The PR body (Markdown): the models removed, those deprecated, then those a gate or the strategy kept."""
    by_id = {o.unique_id: o for o in orphans}
    names = {o.unique_id: o.name for o in by_id.values()}
    models = sorted((a for a in actions if a.action in ("delete_model", "deprecate_model")), key=lambda a: a.target)
    planned = [a for a in models if a.result == "planned" and a.target in by_id]
    deleted = [a for a in planned if a.action == "delete_model"]
    deprecated = [a for a in planned if a.action == "deprecate_model"]
    refused = [a for a in models if a.result != "planned"]
    state = "Dry run: nothing was pushed." if dry_run else "Review, then merge to remove them."
    lines = [f"## metapipeline: {_title(len(deleted), len(deprecated))}", "",
             f"Run {escape_markdown(run_id)}" + (f" on the branch {escape_markdown(branch)}" if branch else "")
             + f": [run report]({escape_markdown(run_link.replace(' ', '%20'))}). {state}", ""]
    if patch_note:
        lines += [escape_markdown(patch_note, limit=2000), ""]
    if deleted:
        lines += _table(deleted, by_id, runs, names, "removed with it")
    if deprecated:
        lines += ["### Deprecated, removed by a later run", "",
                  "These get a `deprecation_date` (cleanup.strategy): dbt warns whoever still refers to them.", ""]
        lines += _table(deprecated, by_id, runs, names, "goes with it later")
    if not planned:
        lines += ["No model deletion is proposed by this run.", ""]
    if refused:
        lines += ["### Not proposed", "", "| model | gate | why |", "|---|---|---|"]
        lines += [f"| {_code(a.name)} | {_code(a.reason)} | {escape_markdown(a.evidence)} |" for a in refused]
        lines.append("")
    return "\n".join(lines)


def render_exposures_body(exposures: Any, run_id: str, run_link: str) -> str:
    """The exposures PR body: one row per exposure added, removed or changed, with its reasons."""
    lines = [f"## metapipeline: update the generated dbt exposures in {escape_markdown(exposures.path)}", "",
             f"Run {escape_markdown(run_id)}: [run report]({escape_markdown(run_link.replace(' ', '%20'))}). One "
             "exposure per active BI report that reads dbt nodes; the file is generated, hand-written exposures "
             "elsewhere are never touched.", ""]
    rows = exposures.change_rows()
    if rows:
        lines += ["| exposure | change | report | why |", "|---|---|---|---|"]
        lines += [f"| {_code(r['exposure'])} | {_code(r['change'])} | {_code(r['report'])} | "
                  f"{escape_markdown(r['reasons'])} |" for r in rows]
        lines.append("")
    return "\n".join(lines)
