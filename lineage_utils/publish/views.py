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

import networkx as nx
import numpy as np
import pandas as pd

from lineage_utils.bi.status import CrawlStatus
from lineage_utils.lineage.orphans import orphan_ids
from lineage_utils.publish.templating import render, report_url, visible
from lineage_utils.run_folder import Run

KIND_COLOURS = {
    "source": "#6b8e23", "seed": "#8fbc8f", "snapshot": "#5f9ea0", "model": "#4682b4", "exposure": "#9370db",
    "semantic_model": "#c71585", "metric": "#db7093", "saved_query": "#b8860b",
    "bi_query": "#b0b0b0", "bi_report": "#2e8b57",
}
SEMANTIC_LAYERS = {"semantic_model": 1, "metric": 2, "saved_query": 3}
"""Columns after the last dbt model for the semantic layer (a derived metric shares its inputs' column)."""
STATE_COLOURS = {"orphan": "#d62728", "stale": "#ff8c00", "archived": "#7f7f7f", "dataset": "#20b2aa"}


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


class Html:
    """Raw HTML for Jupyter; build it only from escaped pieces."""

    def __init__(self, markup: str):
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup


MISSING = "—"
LINK_COLUMN, TOKEN_COLUMN = "web_url", "token"


def cell_text(value: Any) -> str:
    """Display text of one table cell: lists joined, missing values a dash, marks visible."""
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return ", ".join(cell_text(v) for v in value)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return MISSING
    if isinstance(value, (float, np.floating)):
        return f"{value:.6g}"
    return visible(str(value))


def _report_links(run: Run | None) -> tuple[Any, Any] | None:
    return None if run is None else (run.params["bi.base_url"], run.params["bi.workspace"])


def table(frame: pd.DataFrame, columns: list[str] | None = None, run: Run | None = None,
          limit: int | None = None) -> Html:
    """A left-aligned, escaped table; missing values a dash, invisible characters marked.

    Given the ``run``, a ``web_url`` column links to each report on the configured BI
    host, built from the row's report ``token``; a URL stored in the data is never a
    link (it shows as text when no link can be built).
    """
    shown = frame[columns] if columns else frame
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
                       total=len(shown)))


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


def png(figure: Any) -> Html:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode()
    return Html(render("views/png.html.j2", alt="chart", data=data))


def priority_chart(priorities: pd.DataFrame, label_top: int = 8) -> Html:
    """Runtime (x) against downstream reach (y): the top-right corner is where to optimise."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    runtime = priorities["execution_time"].fillna(0.0)
    axes.scatter(runtime, priorities["downstream"], s=20 + 12 * priorities["downstream_reports"], alpha=0.6,
                 color="#4682b4")
    for _, row in priorities.head(label_top).iterrows():
        axes.annotate(str(row["name"]), (row["execution_time"] or 0.0, row["downstream"]), fontsize=7)
    axes.set_xlabel("runtime in the last dbt run (s)")
    axes.set_ylabel("nodes downstream (models, queries, reports)")
    axes.set_title("Where optimisation pays: much depends on it, and it is slow\n(marker size: BI reports downstream)")
    plt.close(figure)
    return png(figure)


# -- the interactive lineage graph -----------------------------------------------------
def _layers(graph: nx.DiGraph) -> dict[str, int]:
    """dbt nodes by depth from their sources; datasets and the semantic layer next; reports and exposures last."""
    dbt = graph.subgraph(n for n, k in graph.nodes(data="kind") if k in {"source", "seed", "snapshot", "model"})
    if nx.is_directed_acyclic_graph(dbt):
        layers = {n: depth for depth, layer in enumerate(nx.topological_generations(dbt)) for n in layer}
    else:
        layers = {n: 0 for n in dbt}
    last = max(layers.values(), default=-1)
    for node, attrs in graph.nodes(data=True):
        if attrs.get("kind") in SEMANTIC_LAYERS:
            layers[node] = last + SEMANTIC_LAYERS[attrs["kind"]]
        elif node not in layers:
            layers[node] = last + (1 if attrs.get("report_type") == "DatasetReport" else 2)
    return layers


def _columns(graph: nx.DiGraph, layers: Mapping[str, int]) -> dict[int, list[str]]:
    """Each column ordered by the mean position of its parents (fewer crossings)."""
    columns: dict[int, list[str]] = {}
    for node in sorted(graph, key=lambda n: (layers[n], graph.nodes[n].get("kind", ""), n)):
        columns.setdefault(layers[node], []).append(node)
    rank: dict[str, float] = {}
    for layer in sorted(columns):
        def key(node: str) -> tuple[float, str]:
            parents = [rank[p] for p in graph.predecessors(node) if p in rank]
            return (sum(parents) / len(parents) if parents else float("inf"), node)

        columns[layer].sort(key=key)
        rank.update({n: i for i, n in enumerate(columns[layer])})
    return columns


def _colour(attrs: Mapping[str, Any], orphans: set[str], node: str) -> str:
    if node in orphans:
        return STATE_COLOURS["orphan"]
    if attrs.get("archived"):
        return STATE_COLOURS["archived"]
    if attrs.get("stale"):
        return STATE_COLOURS["stale"]
    if attrs.get("report_type") == "DatasetReport":
        return STATE_COLOURS["dataset"]
    return KIND_COLOURS.get(attrs.get("kind"), "#999")


def _tooltip(node: str, attrs: Mapping[str, Any]) -> str:
    parts = [node, f"kind: {attrs.get('kind')}", f"name: {attrs.get('name')}"]
    if attrs.get("time_spine"):
        parts.append("time spine of the semantic layer")
    for key in ("relation_name", "materialized", "metric_type", "stale_rules", "archived", "view_count", "runs_count",
                "last_run_at", "execution_time"):
        if attrs.get(key) not in (None, [], ""):
            parts.append(f"{key}: {cell_text(attrs.get(key))}")
    return "\n".join(parts)


def lineage_graph(graph: nx.DiGraph, orphans: Iterable[str] | None = None, max_nodes: int = 600,
                  run: Run | None = None) -> Html:
    """Inline SVG, layered left (sources) to right (reports). Click a node to light up its lineage.

    Orphans are the ones 02_merge stored on the graph unless given. Queries are folded
    into their reports; graphs bigger than ``max_nodes`` are cut down to the
    neighbourhood of orphans and inactive reports. Given the ``run`` and its crawl was
    incomplete, orphans are labelled unconfirmed (reports the crawl missed may read them).
    """
    status = _status(run)
    unconfirmed = status is not None and not status.complete
    orphans = set(orphan_ids(graph) if orphans is None else orphans)
    view = nx.DiGraph()
    for node, attrs in graph.nodes(data=True):
        if attrs.get("kind") != "bi_query":
            view.add_node(node, **attrs)
    for u, v, data in graph.edges(data=True):
        for a in ([u] if graph.nodes[u].get("kind") != "bi_query" else list(graph.successors(u))):
            for b in ([v] if graph.nodes[v].get("kind") != "bi_query" else list(graph.successors(v))):
                if a != b:
                    view.add_edge(a, b, dashed=data.get("status") in {"ambiguous", "unparsed"} or bool(data.get("conditional")))
    if view.number_of_nodes() > max_nodes:
        focus = orphans | {n for n, a in view.nodes(data=True) if a.get("stale") or a.get("archived")}
        keep = set(focus)
        for n in focus:
            keep |= set(view.predecessors(n)) | set(view.successors(n))
        view = view.subgraph(sorted(keep)[:max_nodes]).copy()
    columns = _columns(view, _layers(view))
    x_gap, y_gap, pad = 190, 22, 30
    pos = {n: (pad + layer * x_gap, pad + i * y_gap) for layer, nodes in columns.items() for i, n in enumerate(nodes)}
    index = {n: i for i, n in enumerate(view)}
    edges = [{"u": index[u], "v": index[v], "x1": pos[u][0], "y1": pos[u][1], "x2": pos[v][0], "y2": pos[v][1],
              "dashed": bool(d.get("dashed"))} for u, v, d in view.edges(data=True)]
    nodes = [{"i": index[n], "x": pos[n][0], "y": pos[n][1], "tooltip": _tooltip(n, a),
              "colour": _colour(a, orphans, n), "label": visible(str(a.get("name") or n))[:28]}
             for n, a in view.nodes(data=True)]
    states = {**STATE_COLOURS}
    if unconfirmed:
        states = {("orphan in what was crawled (unconfirmed: crawl incomplete)" if k == "orphan" else k): v
                  for k, v in STATE_COLOURS.items()}
    legend = [*((k, v) for k, v in KIND_COLOURS.items() if k != "bi_query"), *states.items()]
    return Html(render(
        "views/lineage_graph.html.j2", uid=f"lg{abs(hash(tuple(view))) % 10**8}", legend=legend, edges=edges,
        unconfirmed=problem_names(status) if unconfirmed else None,
        nodes=nodes, width=pad * 2 + max(columns, default=0) * x_gap + 160,
        height=pad * 2 + max((len(v) for v in columns.values()), default=1) * y_gap,
        adjacency={"up": [[index[p] for p in view.predecessors(n)] for n in view],
                   "down": [[index[s] for s in view.successors(n)] for n in view]},
    ))


def yaml_block(text: str) -> Html:
    return Html(render("views/yaml_block.html.j2", text=text))


def exposures_plan(result: Any) -> Html:
    """What the generated exposures file changes, each with its reasons, then the unified diff."""
    plan = result.exposures_file
    rows = pd.DataFrame(plan.change_rows(), columns=["exposure", "change", "report", "reasons"])
    return Html(table(rows).markup + yaml_block(plan.diff or f"no change to {plan.path}").markup)


def cleanup_patch(result: Any) -> Html:
    """``cleanup.patch`` (how it was made, then the patch), or why there is none."""
    dry = result.dry_run
    parts = [dry.patch_note, dry.patch] if dry.patch else ["no cleanup patch: no model deletion is planned"]
    return Html("".join(yaml_block(text).markup for text in parts))


def pr_body(result: Any) -> Html:
    """The pull request's body (``pr_body.md``) as the Markdown text a reviewer would get."""
    return yaml_block(result.dry_run.pr_body)


def _status(run: Run | None) -> CrawlStatus | None:
    if run is None or not run.path("crawl_status").is_file():
        return None
    return CrawlStatus.from_dict(run.read_json("crawl_status"), origin=str(run.path("crawl_status")))


def problem_names(status: CrawlStatus | None) -> list[str]:
    """The crawl's problems, one line each (``<target>: <reason>``); a generic line when none is named."""
    if status is None:
        return ["the crawl status of this run is not known"]
    return [f"{target}: {reason}" for target, reason in status.problems] or ["the crawl did not complete"]


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
    return Html(render("views/cleanup_summary.html.j2", withheld=result.withheld if withheld else None,
                       problems=problem_names(_status(run)) if withheld else [], rows=rows))


ORPHAN_COLUMNS = ["name", "reason", "age", "evidence", "last_consumer_name", "path"]
YOUNG_COLUMNS = ["name", "kept_because", "age", "path"]


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
                           table=table(frame, shown).markup, **young_part))
    evidence = "evidence (as far as the incomplete crawl shows)"
    caveated = frame.rename(columns={"evidence": evidence})
    return Html(render("views/orphan_plan.html.j2", withheld=result.withheld, problems=problem_names(_status(run)),
                       count=len(frame), **young_part,
                       table=table(caveated, [evidence if c == "evidence" else c for c in shown]).markup))


def actions_table(actions: Iterable[Any]) -> pd.DataFrame:
    """The planned actions (``Action`` records), one row each."""
    columns = ["action", "target", "name", "mode", "result", "reason", "evidence"]
    return pd.DataFrame([{c: getattr(a, c) for c in columns} for a in actions], columns=columns)
