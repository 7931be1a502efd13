"""What the notebooks display: tables, charts and the interactive lineage graph.

Everything here returns something Jupyter renders (a DataFrame, or an object with
``_repr_html_``). Markup comes from the autoescaping templates in
``templates/views/``, so outside text is escaped; charts are inline PNG or SVG, so
the published HTML works offline.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from typing import Any, Iterable, Mapping

import pandas as pd

from lineage_utils.bi.status import CrawlStatus
from lineage_utils.publish.cells import MISSING, cell_text
from lineage_utils.publish.focused_views import orphan_view, priority_view, sources_view
from lineage_utils.publish.graph_view import (CHAR_WIDTH, KIND_COLOURS, SEMANTIC_LAYERS, STATE_COLOURS, focus_cut,
                                              lineage_graph)
from lineage_utils.publish.run_status import crawl_status_of, problem_names
from lineage_utils.publish.templating import Html, render, report_url
from lineage_utils.run_folder import Run

# The graph view, its colours and the crawl-problem lines live in their own modules; the
# notebooks call them as ``views.<name>``.
__reexported__ = (CHAR_WIDTH, KIND_COLOURS, SEMANTIC_LAYERS, STATE_COLOURS, MISSING, focus_cut, lineage_graph,
                  orphan_view, priority_view, problem_names, sources_view)


def configure_display() -> None:
    """Tables show evidence whole, and every DataFrame a notebook displays goes through :func:`table`.

    pandas' own HTML escapes markup but passes invisible and bidi characters through
    raw; :func:`table` shows them as visible markers (and drops the index column).
    """
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.max_rows", 200)
    pd.set_option("display.min_rows", 200)
    pd.set_option("display.max_columns", 40)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with every kernel
        return
    shell = get_ipython()
    if shell is not None:
        formatter = shell.display_formatter.formatters["text/html"]
        formatter.for_type(pd.DataFrame, lambda frame: table(frame, limit=200).markup)


LINK_COLUMN, TOKEN_COLUMN = "web_url", "token"


def _report_links(run: Run | None) -> tuple[Any, Any] | None:
    return None if run is None else (run.params["bi.base_url"], run.params["bi.workspace"])


FILTER_FROM = 10
"""A table of more rows than this gets a filter box in the published page (every table there sorts by a
click on a column's name: the page template's script, so no table carries a script of its own)."""


ID_COLUMNS = ("unique_id", "node_id")


def _short_names_first(order: list[str]) -> list[str]:
    """A full id column before ``name`` goes last: the name a person reads comes first."""
    for key in ID_COLUMNS:
        if key in order and "name" in order and order.index(key) < order.index("name"):
            order = [c for c in order if c != key] + [key]
    return order


def table(frame: pd.DataFrame, columns: list[str] | None = None, run: Run | None = None,
          limit: int | None = None, source: str | None = None) -> Html:
    """A left-aligned, escaped, sortable table; missing values a dash, invisible characters marked.

    Given the ``run``, a ``web_url`` column links to each report on the configured BI
    host, built from the row's report ``token``; a URL stored in the data is never a
    link (it shows as text when no link can be built). ``limit`` caps the rows shown;
    ``source`` (e.g. ``data/orphan_models.csv``) says where all of them are.
    """
    shown = frame[columns] if columns else frame[_short_names_first(list(frame.columns))]
    links = _report_links(run)
    tokens = frame[TOKEN_COLUMN].tolist() if TOKEN_COLUMN in frame.columns else [None] * len(frame)
    numeric = [pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
               for dtype in shown.dtypes]
    rows = []
    for (_, values), token in zip(shown.head(limit).iterrows() if limit else shown.iterrows(), tokens):
        row = []
        for column, value, num in zip(shown.columns, values, numeric):
            href = report_url(*links, token) if links and column == LINK_COLUMN else None
            text = href or cell_text(value)
            row.append({"text": text, "href": href, "num": num, "wrap": len(max(text.split() or [""], key=len)) > 40})
        rows.append(row)
    return Html(render("views/table.html.j2", columns=[cell_text(c) for c in shown.columns], rows=rows,
                       total=len(shown), source=source, filter_from=FILTER_FROM))


def crawl_status(status: CrawlStatus) -> Html:
    """Completeness first: what is missing and why, then where the crawl came from."""
    figures = ""
    if status.source == "mode_api":
        figures = (f"{status.reports} reports in {status.spaces} spaces; {status.requests_made} API requests "
                   f"({status.retries} retries), {status.requests_saved} saved by the incremental crawl "
                   f"({status.reports_reused} reports unchanged)" + ("; full crawl" if status.full else ""))
    return Html(render("views/crawl_status.html.j2", complete=status.complete, source=status.source,
                       origin=status.origin, figures=figures, problems=status.problems, warnings=status.warnings))


def reran(run: Run) -> Html | None:
    """Which earlier stages were run again when the notebook opened its run, and why.

    None (nothing displayed) when the run's earlier outputs could be used as they were.
    """
    return Html(render("views/reran.html.j2", reran=run.reran)) if run.reran else None


def freshness(run: Run) -> pd.DataFrame:
    summary = run.read_json("summary")
    status = CrawlStatus.from_dict(run.read_json("crawl_status"), origin=str(run.path("crawl_status")))
    reports = run.read_frame("reports")
    rows = [
        ("dbt manifest generated", summary.get("dbt_generated_at")),
        ("BI snapshot captured", status.captured_at),
        ("newest report run", reports["last_run_at"].max()),
        ("staleness judged at", run.params.now().isoformat()),
    ]
    return pd.DataFrame(rows, columns=["what", "when"])


def common_causes(refs: pd.DataFrame, top: int = 8) -> pd.DataFrame:
    """The most frequent reasons behind non-resolved references, with one example each."""
    problems = refs[refs["status"].isin(("ambiguous", "external", "unparsed"))]
    counts: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], str] = {}
    for _, row in problems.iterrows():
        key = (row["status"], _cause(row))
        counts[key] += 1
        examples.setdefault(key, str(row.get("raw") or row.get("query_name") or row.get("query_token") or ""))
    total = max(len(problems), 1)
    return pd.DataFrame(
        [(s, r, n, round(n / total, 3), examples[(s, r)]) for (s, r), n in counts.most_common(top)],
        columns=["status", "cause", "references", "share", "example"],
    )


def _cause(row: Mapping[str, Any]) -> str:
    schema = row.get("db")
    schema = schema if isinstance(schema, str) and schema else None  # missing parts read back as NaN
    if row["status"] == "external":
        if schema:
            return f"schema {str(schema).lower()!r} holds no dbt relation"
        return "unqualified name matches no dbt relation"
    if row["status"] == "ambiguous":
        if schema:
            return "schema-qualified name matches relations in several databases"
        return "unqualified name matches relations in several schemas"
    reason = str(row.get("reason") or "")
    for known in ("too long", "binary", "empty", "table name only known at run time", "not in the query text",
                  "statement not understood by sqlglot", "Liquid rendering failed", "parse error"):
        if known in reason:
            return "table name made by template logic" if known == "not in the query text" else known
    return reason.split(":")[0][:80]


def png_bytes(figure: Any) -> bytes:
    """A matplotlib figure as PNG bytes (as the notebook shows it).

    The figures lay themselves out (``layout="constrained"``), so the PNG is drawn once:
    ``bbox_inches="tight"`` would draw every figure twice to measure it first.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def png(figure: Any) -> Html:
    data = base64.b64encode(png_bytes(figure)).decode()
    return Html(render("views/png.html.j2", alt="chart", data=data))


# -- the interactive lineage graph -----------------------------------------------------
def yaml_block(text: str) -> Html:
    return Html(render("views/yaml_block.html.j2", text=text))


TEXT_LINES = 120
"""Lines of a long text (a diff, a pull request body) shown in the page; the file linked has them all."""


def capped_text(text: str, href: str, what: str, lines: int = TEXT_LINES) -> Html:
    """A text block of at most ``lines`` lines; a longer text ends with a link to its whole file."""
    kept = text.splitlines()
    if len(kept) <= lines:
        return yaml_block(text)
    link = render("views/file_link.html.j2", href=href, label=href,
                  what=f"the first {lines:,} of {len(kept):,} lines are shown; {what}, "
                       f"{len(text.encode('utf-8')) / 1024:,.1f} KB")
    return Html(yaml_block("\n".join(kept[:lines]) + "\n...").markup + link)


def exposures_plan(result: Any) -> Html:
    """What the generated exposures file changes, each with its reasons, then a summary of the diff and its start."""
    plan = result.exposures_file
    rows = pd.DataFrame(plan.change_rows(), columns=["exposure", "change", "report", "reasons"])
    check = getattr(result.dry_run, "exposures_check", None)
    verdict = (f"validation: no change to {plan.path}, nothing to parse" if check is None
               else f"validation: {check.message}")
    diff = plan.diff or ""
    added = sum(1 for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in diff.splitlines() if line.startswith("-") and not line.startswith("---"))
    counts = ", ".join(f"{sum(c.change == kind for c in plan.changes):,} {kind}"
                       for kind in ("added", "changed", "removed"))
    summary = (f"{verdict}\n{plan.path}: {counts}; the diff adds {added:,} lines and removes {removed:,}"
               if diff else f"{verdict}\nno change to {plan.path}")
    return Html(table(rows, limit=PAGE_ROWS, source="data/exposures.diff").markup + yaml_block(summary).markup
                + (capped_text(diff, "data/exposures.diff", "the whole diff").markup if diff else ""))


def applied(result: Any) -> Html:
    """What ``cleanup.apply`` did: each pull request kind's outcome, then every call made or skipped."""
    done = result.applied
    if done is None:
        return yaml_block("dry run: cleanup.apply is off, nothing was pushed, opened, archived or deleted")
    outcomes = pd.DataFrame([(o.kind, o.status, o.number or "", o.url or "", o.branch or "", o.message)
                             for o in (done.deletion_pr, done.exposures_pr)],
                            columns=["kind", "status", "pull request", "url", "branch", "message"])
    calls = actions_table(done.records) if done.records else pd.DataFrame()
    return Html(table(outcomes).markup + (table(calls).markup if len(calls) else ""))


def cleanup_patch(result: Any) -> Html:
    """``cleanup.patch`` (how it was made, then the patch), or why there is none."""
    dry = result.dry_run
    parts = [dry.patch_note, dry.patch] if dry.patch else ["no cleanup patch: no model deletion is planned"]
    return Html("".join(yaml_block(text).markup for text in parts))


def pr_body(result: Any) -> Html:
    """The pull request's body (``pr_body.md``) as the Markdown text a reviewer would get."""
    return capped_text(result.dry_run.pr_body, "data/pr_body.md", "the whole body")


def cleanup_summary(result: Any, run: Run | None = None) -> Html:
    """Headline counts of the cleanup plan, and why deletions are withheld if they are.

    When deletions are withheld, no model is counted as "to remove": the count says how
    many would be proposed once the crawl is complete, and the crawl's problems are named.
    """
    withheld = bool(result.withheld)
    rows = [
        ("stale reports to archive", len(result.stale)),
        ("orphan models to remove", 0 if withheld else len(result.orphans)),
        *([("would be proposed for removal once the crawl is complete", len(result.orphans))] if withheld else []),
        ("models kept alive by one special link", len(result.keepers)),
        ("exposures generated", len(result.exposures)),
        ("planned actions (dry run)", sum(1 for a in result.actions if a.result == "planned")),
        ("refused or exempt (each with its reason)", sum(1 for a in result.actions if a.result != "planned")),
    ]
    done = getattr(result, "applied", None)
    if done is not None:  # what cleanup.apply carried out (details under "Applied")
        rows += [(f"{o.kind.replace('_pr', '')} pull request", f"{o.status}" + (f" #{o.number}" if o.number else ""))
                 for o in (done.deletion_pr, done.exposures_pr)]
        rows.append(("reports archived or deleted now", sum(1 for a in done.records if a.result == "done"
                                                            and a.action in ("archive_report", "delete_report"))))
    return Html(render("views/cleanup_summary.html.j2", withheld=result.withheld if withheld else None,
                       problems=problem_names(crawl_status_of(run)) if withheld else [], rows=rows))


ORPHAN_COLUMNS = ["name", "reason", "age", "evidence", "last_consumer_name", "path"]
YOUNG_COLUMNS = ["name", "kept_because", "age", "path"]


PAGE_ROWS = 200
"""Rows a page shows of a long table; the rest are in the data file it names (its CSV twin)."""
STALE_COLUMNS = ["name", "rules", "evidence", "schedules_count", "web_url"]


def stale_reports(result: Any, run: Run | None = None) -> Html:
    """The stale reports to archive, each with its rules and figures; all of them in ``data/stale_reports.csv``."""
    frame = result.stale
    return table(frame, [c for c in STALE_COLUMNS if c in frame.columns], run=run, limit=PAGE_ROWS,
                 source="data/stale_reports.csv")


def planned_actions(result: Any) -> Html:
    """Every planned, refused or exempt action; all of them in ``data/actions.jsonl``."""
    return table(actions_table(result.actions), limit=PAGE_ROWS, source="data/actions.jsonl")


def exposures_file(result: Any) -> Html:
    """A link to the generated exposures file and its size, instead of the whole file in the page."""
    text = result.exposures_yaml or ""
    count = len(result.exposures or ())
    return Html(render("views/file_link.html.j2", href="data/exposures.yml", label="data/exposures.yml",
                       what=f"{count:,} generated exposures, {len(text.encode('utf-8')) / 1024:,.1f} KB; "
                            "what changes is in the diff above"))


def orphan_plan(result: Any, run: Run | None = None, columns: list[str] | None = None) -> Html:
    """The orphan models: to remove, or, when deletions are withheld, what would be proposed.

    Withheld (an incomplete crawl and ``cleanup.allow_incomplete`` off), the models are
    not listed as ones to remove: the crawl's problems are named, and the list is shown
    under "Would be proposed once the crawl is complete" with its evidence marked as
    coming from an incomplete crawl.
    """
    frame = result.orphans
    shown = [c for c in (columns or ORPHAN_COLUMNS) if c in frame.columns]
    young = getattr(result, "young", None)  # kept by the age guard: listed as young, never as to remove
    young_part = {"young_count": 0 if young is None else len(young),
                  "min_age_days": run.params["protection.min_age_days"] if run is not None else None,
                  "young_table": "" if young is None or young.empty
                  else table(young, [c for c in YOUNG_COLUMNS if c in young.columns]).markup}
    if not result.withheld:
        return Html(render("views/orphan_plan.html.j2", withheld=None, problems=[], count=len(frame),
                           table=table(frame, shown, limit=PAGE_ROWS, source="data/orphan_models.csv").markup,
                           **young_part))
    evidence = "evidence (as far as the incomplete crawl shows)"
    caveated = frame.rename(columns={"evidence": evidence})
    return Html(render("views/orphan_plan.html.j2", withheld=result.withheld, problems=problem_names(crawl_status_of(run)),
                       count=len(frame), **young_part,
                       table=table(caveated, [evidence if c == "evidence" else c for c in shown], limit=PAGE_ROWS,
                                   source="data/orphan_models.csv").markup))


def actions_table(actions: Iterable[Any]) -> pd.DataFrame:
    """The planned actions (``Action`` records), one row each."""
    columns = ["action", "target", "name", "mode", "result", "reason", "evidence"]
    return pd.DataFrame([{c: getattr(a, c) for c in columns} for a in actions], columns=columns)
