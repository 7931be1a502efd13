"""The lineage explorer's logic: find a node, focus on its neighbourhood, filter, explain an orphan.

Pure functions over the lineage graph (what ``02_merge`` stored), so they are tested
without a widget and reused by the published focused views; the JupyterLab widgets
call them. A focused view never holds more than ``max_nodes``: the nodes nearest the
focus come first (then the most connected, then by id, for a stable order), never the
alphabetical first ones, and a view that stops short says what it left out, by kind.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import networkx as nx

from lineage_utils.dbt.semantic import SEMANTIC_KINDS
from lineage_utils.lineage.orphans import Protection, orphans_in
from lineage_utils.lineage.schema import DBT_KINDS

__all__ = ["STATUSES", "Focused", "find_nodes", "focused", "keep_hints", "node_details", "statuses_of", "why_orphan"]

STATUSES = ("orphan", "stale", "archived", "protected", "ambiguous", "semantic layer")
"""The statuses a node can be filtered by (``statuses_of``)."""
PROTECTIONS = frozenset({"tag", "meta", "access", "selector"})
"""The ``consumer`` reasons (``config_protection``'s prefixes) that make a node protected by configuration."""


@dataclass(frozen=True)
class Focused:
    """A focused sub-graph: the nodes drawn, their distance from the focus, and what was left out."""

    graph: nx.DiGraph
    focus: tuple[str, ...]
    distance: Mapping[str, int]
    """Node -> hops from the nearest focus node (0 for the focus itself)."""
    left_out: Mapping[str, int] = field(default_factory=dict)
    """Kind -> how many nodes within the depth (and filters) were not drawn for want of room."""
    source: nx.DiGraph | None = field(default=None, repr=False, compare=False)
    """The whole graph the view was cut from (a node's details and why it is an orphan look beyond the view)."""

    @property
    def note(self) -> str:
        """One line: what is shown, and what was left out."""
        names = [str(self.graph.nodes[f].get("name") or f) for f in self.focus[:5]]
        more = f" and {len(self.focus) - 5:,} more" if len(self.focus) > 5 else ""
        shown = f"{self.graph.number_of_nodes():,} nodes around {', '.join(names) or 'nothing'}{more}"
        if not self.left_out:
            return shown
        return f"{shown}; left out for room (the farthest first): {self.left_out_text}"

    @property
    def left_out_text(self) -> str:
        """What was left out, most first: '2,897 model, 40 bi_report' (empty when nothing was)."""
        return ", ".join(f"{count:,} {kind}" for kind, count in
                         sorted(self.left_out.items(), key=lambda kv: (-kv[1], kv[0])))


def find_nodes(graph: nx.DiGraph, text: str, limit: int = 20) -> list[str]:
    """Nodes whose name or id holds ``text`` (any case): exact names, then prefixes, then the rest; dbt first."""
    wanted = text.strip().lower()
    if not wanted:
        return []
    hits = []
    for node, attrs in graph.nodes(data=True):
        name = str(attrs.get("name") or "").lower()
        where = str(node).lower()
        if wanted in name or wanted in where:
            rank = 0 if name == wanted else 1 if name.startswith(wanted) else 2
            hits.append((rank, attrs.get("kind") not in DBT_KINDS, len(name), str(node)))
    return [node for *_, node in sorted(hits)[:limit]]


def statuses_of(attrs: Mapping[str, Any], graph: nx.DiGraph | None = None, node: str | None = None) -> set[str]:
    """The ``STATUSES`` a node has (an ambiguous one: a BI read of it was ambiguous)."""
    found = set()
    if attrs.get("orphan"):
        found.add("orphan")
    if attrs.get("stale"):
        found.add("stale")
    if attrs.get("archived"):
        found.add("archived")
    if str(attrs.get("consumer") or "").split(":", 1)[0] in PROTECTIONS:  # tag:keep, access:public, ...
        found.add("protected")
    if attrs.get("kind") in SEMANTIC_KINDS:
        found.add("semantic layer")
    if graph is not None and node is not None and any(
            d.get("status") == "ambiguous" for _, _, d in graph.out_edges(node, data=True)):
        found.add("ambiguous")
    return found


def _passes(graph: nx.DiGraph, node: str, kinds: set[str] | None, packages: set[str] | None,
            tags: set[str] | None, statuses: set[str] | None) -> bool:
    attrs = graph.nodes[node]
    if kinds and attrs.get("kind") not in kinds:
        return False
    if packages and attrs.get("package") not in packages:
        return False
    if tags and not tags & set(attrs.get("tags") or ()):
        return False
    return not statuses or bool(statuses & statuses_of(attrs, graph, node))


def focused(graph: nx.DiGraph, focus: Iterable[str], up: int = 2, down: int = 2, *, kinds: Iterable[str] = (),
            packages: Iterable[str] = (), tags: Iterable[str] = (), statuses: Iterable[str] = (),
            max_nodes: int = 150) -> Focused:
    """The focus nodes with what lies ``up`` hops upstream and ``down`` hops downstream, filtered.

    Filters (kind, package, tag, status) choose which nodes are drawn; the focus is
    always drawn, and the walk goes through filtered-out nodes, so a report two hops
    below a model shows even when the query between them is filtered out.
    """
    focus = tuple(dict.fromkeys(n for n in focus if n in graph))
    distance: dict[str, int] = {n: 0 for n in focus}
    for direction, depth in (("up", up), ("down", down)):
        frontier = list(focus)
        for hop in range(1, max(depth, 0) + 1):
            step = graph.predecessors if direction == "up" else graph.successors
            frontier = [m for n in frontier for m in step(n) if m not in distance or distance[m] > hop]
            frontier = list(dict.fromkeys(frontier))
            for m in frontier:
                distance[m] = min(distance.get(m, hop), hop)
    filters = ({*kinds} or None, {*packages} or None, {*tags} or None, {*statuses} or None)
    wanted = [n for n in distance if distance[n] == 0 or _passes(graph, n, *filters)]
    wanted.sort(key=lambda n: (distance[n], -graph.degree(n), str(n)))
    drawn = wanted[:max(max_nodes, len(focus))]
    left = Counter(str(graph.nodes[n].get("kind") or "other") for n in wanted[len(drawn):])
    return Focused(graph=graph.subgraph(drawn).copy(), focus=focus, distance={n: distance[n] for n in drawn},
                   left_out=dict(left), source=graph)


def node_details(graph: nx.DiGraph, node: str, importance: Mapping[str, float] | None = None) -> dict[str, Any]:
    """What the explorer shows for a clicked node: relation, owner, last run, runtime, importance, statuses."""
    attrs = graph.nodes[node]
    details = {"id": node, "name": attrs.get("name"), "kind": attrs.get("kind"),
               "relation": attrs.get("relation_name"), "owner": attrs.get("owner"),
               "last run": attrs.get("last_run_at"),
               "runtime (s)": None if attrs.get("execution_time") is None else round(float(attrs["execution_time"]), 2),
               "importance": (None if importance is None or node not in importance
                              else round(float(importance[node]), 3)),
               "status": ", ".join(sorted(statuses_of(attrs, graph, node))) or None,
               "upstream": graph.in_degree(node), "downstream": graph.out_degree(node)}
    return {key: value for key, value in details.items() if value not in (None, "")}


def keep_hints(protection: Protection | None = None) -> list[str]:
    """The exemptions that would keep a model, in the words of the params in force."""
    rule = protection or Protection()
    hints = [f"add the tag `{rule.tags[0]}` (protection.tags)"] if rule.tags else []
    hints += [f"set `meta: {{{rule.meta_keys[0]}: true}}` (protection.meta_keys)"] if rule.meta_keys else []
    hints += ["set `access: public` (protection.access_public)"] if rule.access_public else []
    return [*hints, "list it in protection.selectors (its name, unique_id, fqn or path pattern)"]


def why_orphan(graph: nx.DiGraph, node: str, protection: Protection | None = None) -> dict[str, Any] | None:
    """For an orphan: why (the evidence), the consumers it lost and when, and what would keep it. None otherwise."""
    if not graph.nodes[node].get("orphan"):
        return None
    (orphan,) = [o for o in orphans_in(graph.subgraph(nx.descendants(graph, node) | {node})) if o.unique_id == node]
    reports = [graph.nodes[r] for r in nx.descendants(graph, node) if graph.nodes[r].get("kind") == "bi_report"]
    lost = sorted(({"report": r.get("name"), "state": "archived" if r.get("archived") else "stale" if r.get("stale")
                    else "inactive", "last run": r.get("last_run_at"), "rules": ", ".join(r.get("stale_rules") or ())}
                   for r in reports), key=lambda r: (str(r["last run"] or ""), str(r["report"])), reverse=True)
    return {"reason": orphan.reason, "evidence": orphan.evidence, "lost consumers": lost,
            "last consumer": orphan.last_consumer_name, "its last run": orphan.last_consumer_last_run,
            "would keep it": keep_hints(protection)}
