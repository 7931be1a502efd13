"""What the notebooks display: tables, charts and the interactive lineage graph.

Everything here returns something Jupyter renders (a DataFrame, or an object with
``_repr_html_``). Outside text is escaped; charts are inline PNG or SVG, so the
published HTML works offline.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter
from typing import Any, Mapping

import networkx as nx
import pandas as pd

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
    style = ("<style>.metapipeline-table td,.metapipeline-table th{text-align:left!important;"
             "vertical-align:top;padding:3px 8px}</style>")
    return Html(style + markup)


def crawl_status(status: Mapping[str, Any]) -> Html:
    complete = bool(status.get("complete"))
    colour = "#2e7d32" if complete else "#c62828"
    head = "Crawl complete" if complete else "Crawl INCOMPLETE: deletion proposals are withheld"
    problems = [(item.get("target", ""), item.get("reason", ""))
                for item in list(status.get("errors") or []) + list(status.get("missing") or [])]
    problems += [(item.get("target", ""), f"{item.get('kind', 'anomaly')}: {item.get('detail', '')}")
                 for item in status.get("anomalies") or []]
    rows = "".join(f"<li>{html.escape(str(target))}: {html.escape(str(reason))}</li>" for target, reason in problems)
    notes = "".join(f"<li>{html.escape(str(item.get('target', '')))} (not affecting completeness): "
                    f"{html.escape(str(item.get('reason', '')))}</li>" for item in status.get("warnings") or [])
    origin = html.escape(f"{status.get('source')} {status.get('origin', '')}")
    figures = ""
    if "requests_made" in status:
        figures = html.escape(
            f"{status.get('reports', 0)} reports in {status.get('spaces', 0)} spaces; "
            f"{status.get('requests_made', 0)} API requests ({status.get('retries', 0)} retries), "
            f"{status.get('requests_saved', 0)} saved by the incremental crawl "
            f"({status.get('reports_reused', 0)} reports unchanged)" + ("; full crawl" if status.get("full") else ""))
        figures = f"<br>{figures}"
    return Html(f'<div style="border-left:6px solid {colour};padding:6px 12px"><b>{head}</b>'
                f"<br>source: {origin}{figures}<ul>{rows}{notes}</ul></div>")


def freshness(run: Run) -> pd.DataFrame:
    status = run.read_json("crawl_status")
    reports = run.read_frame("reports")
    rows = [
        ("dbt manifest generated", status.get("dbt_generated_at")),
        ("BI snapshot captured", status.get("captured_at")),
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
    return Html(f'<img alt="chart" src="data:image/png;base64,{data}">')


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


def lineage_graph(graph: nx.DiGraph, orphans: set[str] | None = None, max_nodes: int = 600) -> Html:
    """Inline SVG, layered left (sources) to right (reports). Click a node to light up its lineage.

    Queries are folded into their reports; graphs bigger than ``max_nodes`` are cut down
    to the neighbourhood of orphans and inactive reports.
    """
    orphans = set(orphans or ())
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
    width = pad * 2 + max(columns, default=0) * x_gap + 160
    height = pad * 2 + max((len(v) for v in columns.values()), default=1) * y_gap
    index = {n: i for i, n in enumerate(view)}
    dash = ' stroke-dasharray="4 3"'
    edges_svg = "".join(
        f'<line class="e" data-u="{index[u]}" data-v="{index[v]}" x1="{pos[u][0]}" y1="{pos[u][1]}" '
        f'x2="{pos[v][0]}" y2="{pos[v][1]}"{dash if d.get("dashed") else ""}/>'
        for u, v, d in view.edges(data=True)
    )
    nodes_svg = "".join(
        f'<g class="n" data-i="{index[n]}" transform="translate({pos[n][0]},{pos[n][1]})">'
        f'<title>{html.escape(_tooltip(n, a))}</title>'
        f'<circle r="6" fill="{_colour(a, orphans, n)}"/>'
        f'<text x="9" y="4">{html.escape(str(a.get("name") or n)[:28])}</text></g>'
        for n, a in view.nodes(data=True)
    )
    adjacency = {"up": [[index[p] for p in view.predecessors(n)] for n in view],
                 "down": [[index[s] for s in view.successors(n)] for n in view]}
    data = json.dumps(adjacency).replace("<", "\\u003c")
    uid = f"lg{abs(hash(tuple(view))) % 10**8}"
    legend = " ".join(
        f'<span style="color:{c}">&#9679;</span> {html.escape(k)}'
        for k, c in {**{k: v for k, v in KIND_COLOURS.items() if k != "bi_query"}, **STATE_COLOURS}.items()
    )
    script = _GRAPH_JS.replace("UID", uid).replace("DATA", data)
    return Html(
        f'<div id="{uid}"><div style="font-size:12px">{legend} &mdash; dashed: ambiguous, conditional or '
        f'unparsed read. Click a node to highlight its lineage; click again to clear.</div>'
        f'<div style="overflow:auto;max-height:640px;border:1px solid #ddd">'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-size="10" '
        f'font-family="sans-serif"><style>.e{{stroke:#bbb;stroke-width:1}} .e.hi{{stroke:#d62728;stroke-width:2}}'
        f' .n.dim{{opacity:.25}} .n{{cursor:pointer}}</style>{edges_svg}{nodes_svg}</svg></div>{script}</div>'
    )


_GRAPH_JS = """<script>(function(){var root=document.getElementById("UID");if(!root)return;
var adj=DATA,sel=null;function walk(s,k){var seen={},st=[s];seen[s]=1;while(st.length){var n=st.pop();
adj[k][n].forEach(function(m){if(!seen[m]){seen[m]=1;st.push(m);}});}return seen;}
root.querySelectorAll(".n").forEach(function(g){g.addEventListener("click",function(){
var i=+g.getAttribute("data-i");if(sel===i){sel=null;root.querySelectorAll(".dim,.hi").forEach(function(e){
e.classList.remove("dim");e.classList.remove("hi");});return;}sel=i;var up=walk(i,"up"),dn=walk(i,"down");
root.querySelectorAll(".n").forEach(function(o){var j=+o.getAttribute("data-i");
o.classList.toggle("dim",!(up[j]||dn[j]));});root.querySelectorAll(".e").forEach(function(e){
var u=+e.getAttribute("data-u"),v=+e.getAttribute("data-v");e.classList.toggle("hi",(up[u]&&up[v])||(dn[u]&&dn[v]));});});});})();</script>"""


def yaml_block(text: str) -> Html:
    return Html(f"<pre style='max-height:420px;overflow:auto'>{html.escape(text)}</pre>")


def cleanup_summary(result: Any) -> Html:
    """Headline counts of the cleanup plan, and why deletions are withheld if they are."""
    rows = [
        ("stale reports to archive", len(result.stale)),
        ("orphan models to remove", len(result.orphans)),
        ("models kept alive by one special link", len(result.keepers)),
        ("exposures generated", len(result.exposures)),
        ("planned actions (dry run)", len(result.actions)),
    ]
    table = pd.DataFrame(rows, columns=["what", "count"]).to_html(index=False)
    note = f"<p><b>{html.escape(result.withheld)}</b></p>" if result.withheld else ""
    return Html(note + table)


def actions_table(actions: list[Mapping[str, Any]]) -> pd.DataFrame:
    columns = ["action", "target", "name", "mode", "result", "evidence"]
    return pd.DataFrame([{c: a.get(c) for c in columns} for a in actions], columns=columns)
