"""The lineage explorer in JupyterLab: ``lu.explore(run)``.

Search a model, report or query by name, choose how far upstream and downstream to
look, filter by kind, package, tag and status, and see the focused sub-graph (drawn by
:mod:`lineage_utils.publish.explorer_page`, vis-network inlined) with a details pane:
click a node for its relation, owner, last run, runtime and importance, and for an
orphan why, and what would keep it. The logic is :mod:`lineage_utils.publish.explorer`;
this module only wires ipywidgets to it. Needs the ``lab`` extra (ipywidgets, pyvis).
"""

from __future__ import annotations

import html
from typing import Any, Mapping

import networkx as nx

from lineage_utils.lineage.graph import read_lineage
from lineage_utils.lineage.orphans import Protection
from lineage_utils.publish.explorer import STATUSES, Focused, find_nodes, focused
from lineage_utils.publish.explorer_page import ExplorerUnavailable, explorer_page
from lineage_utils.run_folder import Run

__all__ = ["Explorer", "explore"]

DEPTH_LIMIT = 8


def _widgets() -> Any:
    try:
        import ipywidgets
    except ImportError as error:
        raise ExplorerUnavailable("the explorer needs ipywidgets and pyvis, the `lab` extra: "
                                  "pip install -e '.[lab]' (or `make lab`)") from error
    return ipywidgets


def _importance(run: Run) -> dict[str, float] | None:
    if not run.exists("centrality"):
        return None
    table = run.read_frame("centrality")
    if "node_id" not in table.columns or "importance" not in table.columns:
        return None
    return dict(zip(table["node_id"].astype(str), table["importance"].astype(float)))


def _default_focus(graph: nx.DiGraph, importance: Mapping[str, float] | None) -> list[str]:
    """Where the explorer opens: the most connected orphan, else the most important model, else the busiest node."""
    orphans = [n for n, o in graph.nodes(data="orphan") if o]
    if orphans:
        return [min(orphans, key=lambda n: (-graph.degree(n), str(n)))]
    if importance:
        models = [n for n in importance if graph.nodes.get(n, {}).get("kind") == "model"]
        if models:
            return [max(models, key=lambda n: (importance[n], str(n)))]
    return [min(graph, key=lambda n: (-graph.degree(n), str(n)))] if graph else []


def _option(graph: nx.DiGraph, node: str) -> tuple[str, str]:
    attrs = graph.nodes[node]
    return f"{attrs.get('name') or node}  ({str(attrs.get('kind') or 'other').replace('_', ' ')})", node


class Explorer:
    """The explorer's widgets and its current view; displaying it shows the widget."""

    def __init__(self, graph: nx.DiGraph, *, importance: Mapping[str, float] | None = None,
                 protection: Protection | None = None, max_nodes: int = 150, height: int = 560):
        w = _widgets()
        self.graph, self.importance, self.protection = graph, importance, protection
        self.max_nodes, self.height = max_nodes, height
        attrs = [a for _, a in graph.nodes(data=True)]
        style = {"description_width": "90px"}
        self.search = w.Text(placeholder="a model, report or query name", description="Find", style=style,
                             continuous_update=True)
        self.matches = w.Select(options=[], rows=5, description="Matches", style=style,
                                layout=w.Layout(width="420px"))
        self.up = w.IntSlider(value=2, min=0, max=DEPTH_LIMIT, description="Upstream", style=style)
        self.down = w.IntSlider(value=2, min=0, max=DEPTH_LIMIT, description="Downstream", style=style)

        def choices(key: str) -> list[str]:
            values = set()
            for a in attrs:
                value = a.get(key)
                values.update(value if isinstance(value, (list, tuple)) else [value] if value else [])
            return sorted(map(str, values))

        self.kinds = w.SelectMultiple(options=choices("kind"), rows=5, description="Kind", style=style)
        self.packages = w.SelectMultiple(options=choices("package"), rows=5, description="Package", style=style)
        self.tags = w.SelectMultiple(options=choices("tags"), rows=5, description="Tag", style=style)
        self.statuses = w.SelectMultiple(options=list(STATUSES), rows=5, description="Status", style=style)
        self.note = w.HTML()
        self.view = w.HTML()
        self.focus: list[str] = _default_focus(graph, importance)
        self.current: Focused | None = None
        self.search.observe(self._on_search, "value")
        self.matches.observe(self._on_match, "value")
        for control in (self.up, self.down, self.kinds, self.packages, self.tags, self.statuses):
            control.observe(lambda _change: self.redraw(), "value")
        controls = w.HBox([w.VBox([self.search, self.matches, self.up, self.down]),
                           w.VBox([self.kinds, self.packages]), w.VBox([self.tags, self.statuses])])
        self.widget = w.VBox([controls, self.note, self.view])
        self.redraw()

    def _on_search(self, change: Mapping[str, Any]) -> None:
        hits = find_nodes(self.graph, str(change["new"]))
        self.matches.options = [_option(self.graph, n) for n in hits]
        if hits:
            self.matches.value = hits[0]
        elif str(change["new"]).strip():
            self.note.value = f"<b>Nothing is named like {html.escape(str(change['new']))}.</b>"

    def _on_match(self, change: Mapping[str, Any]) -> None:
        if change["new"]:
            self.focus = [change["new"]]
            self.redraw()

    def redraw(self) -> Focused:
        """Draw the focused view of the current focus, depths and filters (at most ``max_nodes``)."""
        self.current = focused(self.graph, self.focus, self.up.value, self.down.value, kinds=self.kinds.value,
                               packages=self.packages.value, tags=self.tags.value, statuses=self.statuses.value,
                               max_nodes=self.max_nodes)
        self.note.value = ""  # the page states what is drawn and what was left out
        page = explorer_page(self.current, self.importance, self.protection, height=self.height)
        self.view.value = (f'<iframe title="lineage explorer" srcdoc="{html.escape(page, quote=True)}" '
                           f'style="width:100%;height:{self.height + 90}px;border:0"></iframe>')
        return self.current

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def explore(run: Run, *, max_nodes: int | None = None) -> Explorer:
    """The explorer on a run's lineage graph (``02_merge``'s ``lineage.json``), with importance when ranked."""
    if not run.exists("lineage"):
        raise FileNotFoundError(f"{run.path('lineage')}: no lineage graph in this run yet; run 02_merge first")
    graph = read_lineage(run)
    params = run.params
    limit = max_nodes if max_nodes is not None else (params["explore.max_nodes"] if params is not None else 150)
    protection = Protection.from_params(params) if params is not None else None
    return Explorer(graph, importance=_importance(run), protection=protection, max_nodes=limit)
