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
import pandas as pd

from lineage_utils.bi.status import CrawlStatus
from lineage_utils.lineage.orphans import orphan_ids
from lineage_utils.publish.templating import render
from lineage_utils.run_folder import Run

KIND_COLOURS = {
    "source": "#6b8e23", "seed": "#8fbc8f", "snapshot": "#5f9ea0", "model": "#4682b4", "exposure": "#9370db",
    "bi_query": "#b0b0b0", "bi_report": "#2e8b57",
}
STATE_COLOURS = {"orphan": "#d62728", "stale": "#ff8c00", "archived": "#7f7f7f", "dataset": "#20b2aa"}


def configure_display() -> None:
    """Tables show evidence whole: no truncated cells, no elided rows up to 200."""
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.max_rows", 200)
    pd.set_option("display.min_rows", 200)
    pd.set_option("display.max_columns", 40)


class Html:
    """Raw HTML for Jupyter; build it only from escaped pieces."""

    def __init__(self, markup: str):
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup


def table(frame: pd.DataFrame, columns: list[str] | None = None) -> Html:
    """A left-aligned, escaped table; URLs become links, missing values a dash."""
    shown = frame[columns] if columns else frame
    markup = shown.to_html(index=False, escape=True, na_rep="—", render_links=True, border=0,
                           classes="metapipeline-table")
    return Html(render("views/table.html.j2", markup=markup))


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
    """dbt nodes by depth from their sources; datasets next; reports and exposures last."""
    dbt = graph.subgraph(n for n, k in graph.nodes(data="kind") if k in {"source", "seed", "snapshot", "model"})
    if nx.is_directed_acyclic_graph(dbt):
        layers = {n: depth for depth, layer in enumerate(nx.topological_generations(dbt)) for n in layer}
    else:
        layers = {n: 0 for n in dbt}
    last = max(layers.values(), default=-1)
    for node, attrs in graph.nodes(data=True):
        if node not in layers:
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
    for key in ("relation_name", "materialized", "stale_rules", "archived", "view_count", "runs_count",
                "last_run_at", "execution_time"):
        if attrs.get(key) not in (None, [], ""):
            parts.append(f"{key}: {attrs.get(key)}")
    return "\n".join(parts)


def lineage_graph(graph: nx.DiGraph, orphans: Iterable[str] | None = None, max_nodes: int = 600) -> Html:
    """Inline SVG, layered left (sources) to right (reports). Click a node to light up its lineage.

    Orphans are the ones 02_merge stored on the graph unless given. Queries are folded
    into their reports; graphs bigger than ``max_nodes`` are cut down to the
    neighbourhood of orphans and inactive reports.
    """
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
              "colour": _colour(a, orphans, n), "label": str(a.get("name") or n)[:28]}
             for n, a in view.nodes(data=True)]
    legend = [*((k, v) for k, v in KIND_COLOURS.items() if k != "bi_query"), *STATE_COLOURS.items()]
    return Html(render(
        "views/lineage_graph.html.j2", uid=f"lg{abs(hash(tuple(view))) % 10**8}", legend=legend, edges=edges,
        nodes=nodes, width=pad * 2 + max(columns, default=0) * x_gap + 160,
        height=pad * 2 + max((len(v) for v in columns.values()), default=1) * y_gap,
        adjacency={"up": [[index[p] for p in view.predecessors(n)] for n in view],
                   "down": [[index[s] for s in view.successors(n)] for n in view]},
    ))


def yaml_block(text: str) -> Html:
    return Html(render("views/yaml_block.html.j2", text=text))


def cleanup_summary(result: Any) -> Html:
    """Headline counts of the cleanup plan, and why deletions are withheld if they are."""
    rows = [
        ("stale reports to archive", len(result.stale)),
        ("orphan models to remove", len(result.orphans)),
        ("models kept alive by one special link", len(result.keepers)),
        ("exposures generated", len(result.exposures)),
        ("planned actions (dry run)", len(result.actions)),
    ]
    table = pd.DataFrame(rows, columns=["what", "count"]).to_html(index=False, escape=True)
    return Html(render("views/cleanup_summary.html.j2", withheld=result.withheld, table=table))


def actions_table(actions: Iterable[Any]) -> pd.DataFrame:
    """The planned actions (``Action`` records), one row each."""
    columns = ["action", "target", "name", "mode", "result", "evidence"]
    return pd.DataFrame([{c: getattr(a, c) for c in columns} for a in actions], columns=columns)
