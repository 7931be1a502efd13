"""Consumers, orphans, and what keeps each model alive.

A *consumer* is what a person looks at: an active BI report, a hand-written dbt
exposure, a metric or saved query of the dbt semantic layer
(``protection.semantic_layer``), or a node protected by configuration. An exposure of
metapipeline's own generated file (``exposures.path``, the root project's) is not one:
it was derived from a BI report, and that report's node decides (active or stale);
``decide`` marks it ``generated``. A model is an *orphan* when no path leads from it
to a consumer; whole dead sub-graphs are orphans together. Ambiguous references
link every candidate, so an ambiguous read by an active report protects them all.
The semantic layer's time spine model is a consumer whenever the project has a
semantic layer (MetricFlow, and ``dbt parse``, need it then); with
``protection.semantic_layer`` off, whenever a semantic model or metric survives the
deletion of the orphans (one that no orphan model is upstream of).
"""

from __future__ import annotations

import fnmatch
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Iterable, Literal, Mapping

import networkx as nx

from lineage_utils.dbt.git_age import FileAge
from lineage_utils.lineage.schema import DBT_KINDS

OrphanReason = Literal["no_downstream_consumer", "only_inactive_reports"]
Keeper = Literal["active_report", "exposure", "config", "ambiguous_reference", "conditional_read", "dataset",
                 "unparsed_mention", "young"]


@dataclass(frozen=True)
class Protection:
    tags: tuple[str, ...] = ("keep",)
    meta_keys: tuple[str, ...] = ("keep",)
    access_public: bool = True
    selectors: tuple[str, ...] = ()
    min_age_days: int = 30
    semantic_layer: bool = True
    generated_exposures: str | None = None
    """The generated exposures file (``exposures.path``, project relative): its exposures are no consumers."""
    project: str | None = None
    """The root project's package: only its exposures can be generated ones (None: any package's)."""

    @classmethod
    def from_params(cls, params, project: str | None = None) -> "Protection":  # noqa: ANN001 - Params
        return cls(
            tags=tuple(params["protection.tags"]), meta_keys=tuple(params["protection.meta_keys"]),
            access_public=params["protection.access_public"], selectors=tuple(params["protection.selectors"]),
            min_age_days=params["protection.min_age_days"], semantic_layer=params["protection.semantic_layer"],
            generated_exposures=params["exposures.path"] or None, project=project,
        )

    def generated(self, attrs: Mapping) -> bool:
        """True for an exposure node of the generated file (its ``path``, the manifest's ``original_file_path``)."""
        if attrs.get("kind") != "exposure" or not self.generated_exposures or not attrs.get("path"):
            return False
        if self.project is not None and attrs.get("package") != self.project:
            return False
        return _posix(attrs["path"]) == _posix(self.generated_exposures)


def _posix(path: str) -> str:
    return PurePosixPath(str(path).replace("\\", "/")).as_posix()


@dataclass(frozen=True)
class Orphan:
    unique_id: str
    name: str
    path: str | None
    reason: OrphanReason
    evidence: str
    downstream_models: tuple[str, ...]
    inactive_reports: tuple[str, ...]
    last_consumer: str | None
    last_consumer_name: str | None
    last_consumer_last_run: str | None
    materialized: str | None
    execution_time: float | None
    test_count: int
    owner: str | None
    age: str | None = None


def config_protection(node_id: str, attrs: Mapping, protection: Protection) -> str | None:
    """Why configuration protects a dbt node, or None."""
    tags = set(attrs.get("tags") or ())
    for tag in protection.tags:
        if tag in tags:
            return f"tag:{tag}"
    meta = attrs.get("meta") or {}
    for key in protection.meta_keys:
        if meta.get(key):
            return f"meta:{key}"
    if protection.access_public and attrs.get("access") == "public":
        return "access:public"
    fqn = ".".join(attrs.get("fqn") or ())
    for selector in protection.selectors:
        if selector in {node_id, attrs.get("name")} or (fqn and fnmatch.fnmatchcase(fqn, selector)) \
                or fnmatch.fnmatchcase(attrs.get("path") or "", selector):
            return f"selector:{selector}"
    return None


def find_consumers(graph: nx.DiGraph, protection: Protection) -> dict[str, str]:
    """Consumer node id -> why it is one."""
    consumers: dict[str, str] = {}
    semantic = protection.semantic_layer and any(k in SEMANTIC_LAYER_KINDS for _, k in graph.nodes(data="kind"))
    for node, attrs in graph.nodes(data=True):
        kind = attrs.get("kind")
        if kind == "bi_report" and attrs.get("active"):
            consumers[node] = "active_report"
        elif kind == "exposure" and not protection.generated(attrs):
            consumers[node] = "exposure"  # a generated one is not: its BI report decides
        elif kind in SEMANTIC_CONSUMER_KINDS and protection.semantic_layer:
            consumers[node] = f"semantic_layer:{kind}"
        elif kind in {"model", "seed", "snapshot", "source"}:
            why = config_protection(node, attrs, protection)
            if why:
                consumers[node] = f"config:{why}"
            elif kind == "model" and semantic and attrs.get("time_spine"):
                consumers[node] = "semantic_layer:time_spine"
            elif kind == "model" and (young := young_reason(attrs, protection.min_age_days)):
                consumers[node] = young
    if not semantic and surviving_semantic(graph, consumers):
        for node, attrs in graph.nodes(data=True):
            if attrs.get("kind") == "model" and attrs.get("time_spine") and node not in consumers:
                consumers[node] = "semantic_layer:time_spine"
    return consumers


def _edge_kind(data: Mapping) -> str | None:
    if data.get("provenance") == "dataset":
        return "dataset"
    if data.get("provenance") != "sql":
        return None
    if data.get("status") == "ambiguous":
        return "ambiguous_reference"
    if data.get("status") == "unparsed":
        return "unparsed_mention"
    if data.get("conditional"):
        return "conditional_read"
    return None


def alive_nodes(graph: nx.DiGraph, consumers: Iterable[str], skip_edges: str | None = None) -> set[str]:
    """Consumers and everything upstream of them (optionally ignoring one edge kind)."""
    seen = set(consumers)
    queue = deque(seen)
    while queue:
        node = queue.popleft()
        for parent in graph.predecessors(node):
            if parent in seen:
                continue
            if skip_edges and _edge_kind(graph.edges[parent, node]) == skip_edges:
                continue
            seen.add(parent)
            queue.append(parent)
    return seen


def essential_keepers(graph: nx.DiGraph, consumers: Mapping[str, str]) -> dict[str, tuple[Keeper, ...]]:
    """For each live model: the mechanisms without which it would be an orphan."""
    models = [n for n, k in graph.nodes(data="kind") if k == "model"]
    alive = alive_nodes(graph, consumers)
    keepers: dict[str, list[Keeper]] = {m: [] for m in models if m in alive}
    by_reason = {
        "exposure": [c for c, why in consumers.items() if why != "exposure"],
        "config": [c for c, why in consumers.items() if not why.startswith("config:")],
        "active_report": [c for c, why in consumers.items() if why != "active_report"],
        "young": [c for c, why in consumers.items() if not why.startswith("young:")],
    }
    for keeper, subset in by_reason.items():
        without = alive_nodes(graph, subset)
        for model in keepers:
            if model not in without:
                keepers[model].append(keeper)  # type: ignore[arg-type]
    for edge_kind in ("ambiguous_reference", "conditional_read", "dataset", "unparsed_mention"):
        without = alive_nodes(graph, consumers, skip_edges=edge_kind)
        for model in keepers:
            if model not in without:
                keepers[model].append(edge_kind)  # type: ignore[arg-type]
    for model, names in semantic_keepers(graph, consumers, keepers).items():
        keepers[model] += names  # type: ignore[arg-type]
    return {m: tuple(sorted(k)) for m, k in sorted(keepers.items())}


# -- the dbt semantic layer ---------------------------------------------------------------
SEMANTIC_LAYER_KINDS = ("semantic_model", "metric", "saved_query")
SEMANTIC_CONSUMER_KINDS = ("metric", "saved_query")


def surviving_semantic(graph: nx.DiGraph, consumers: Iterable[str]) -> list[str]:
    """The semantic models and metrics no dead model is upstream of: deleting the orphans leaves them.

    ``dbt parse`` then still needs the time spine. (A semantic node downstream of a dead
    model is dead too, and the cleanup patch removes it with the model.)
    """
    alive = alive_nodes(graph, consumers)
    dead = {n for n, k in graph.nodes(data="kind") if k == "model" and n not in alive}
    return sorted(n for n, k in graph.nodes(data="kind")
                  if k in ("semantic_model", "metric") and not nx.ancestors(graph, n) & dead)


def semantic_name(graph: nx.DiGraph, node: str) -> str:
    """How a keeper names a semantic-layer consumer: ``metric:<name>``, ``saved_query:<name>``, ``time_spine``."""
    attrs = graph.nodes[node]
    return "time_spine" if attrs.get("kind") == "model" else f"{attrs.get('kind')}:{attrs.get('name')}"


def semantic_keepers(graph: nx.DiGraph, consumers: Mapping[str, str], models: Iterable[str]) -> dict[str, list[str]]:
    """Live models that only the semantic layer keeps alive -> the semantic consumers that need each one."""
    semantic = sorted(c for c, why in consumers.items() if why.startswith("semantic_layer:"))
    if not semantic:
        return {}
    without = alive_nodes(graph, [c for c, why in consumers.items() if not why.startswith("semantic_layer:")])
    needing = {m for m in models if m not in without}
    found: dict[str, list[str]] = {}
    for consumer in semantic if needing else ():
        for model in sorted(alive_nodes(graph, [consumer]) & needing):
            found.setdefault(model, []).append(semantic_name(graph, consumer))
    return found


def find_orphans(graph: nx.DiGraph, consumers: Mapping[str, str]) -> list[Orphan]:
    alive = alive_nodes(graph, consumers)
    dead_models = {n for n, k in graph.nodes(data="kind") if k == "model" and n not in alive}
    return [_orphan(graph, model, dead_models) for model in sorted(dead_models)]


def decide(graph: nx.DiGraph, protection: Protection, ages: Mapping[str, FileAge] | None = None,
           now: datetime | None = None) -> None:
    """Store on every dbt node whether it is a consumer, an orphan, and what keeps it alive.

    02_merge calls this once; later stages read the decision (``orphans_in``,
    ``keepers_in``, ``orphan_ids``) instead of deciding again. ``ages`` (model id ->
    its file's git age, judged at ``now``) feeds the young-model guard. An exposure of
    the generated file (``Protection.generated``) is marked ``generated``.
    """
    record_ages(graph, ages or {}, now or datetime.now(timezone.utc))
    consumers = find_consumers(graph, protection)
    alive = alive_nodes(graph, consumers)
    keepers = essential_keepers(graph, consumers)
    for node, attrs in graph.nodes(data=True):
        if attrs.get("kind") not in DBT_KINDS:
            continue
        attrs["consumer"] = consumers.get(node)
        attrs["generated"] = protection.generated(attrs)
        attrs["orphan"] = attrs.get("kind") == "model" and node not in alive
        attrs["kept_alive_by"] = list(keepers.get(node, ()))


def orphan_ids(graph: nx.DiGraph) -> set[str]:
    """The models 02_merge decided are orphans."""
    return {n for n, attrs in graph.nodes(data=True) if attrs.get("orphan")}


def orphans_in(graph: nx.DiGraph) -> list[Orphan]:
    """The stored orphans as records, with their evidence."""
    dead_models = orphan_ids(graph)
    return [_orphan(graph, model, dead_models) for model in sorted(dead_models)]


def keepers_in(graph: nx.DiGraph) -> dict[str, tuple[Keeper, ...]]:
    """Live model -> the stored kinds of link it would be an orphan without (empty ones left out)."""
    return {n: tuple(attrs["kept_alive_by"]) for n, attrs in sorted(graph.nodes(data=True))
            if attrs.get("kind") == "model" and attrs.get("kept_alive_by")}


def _orphan(graph: nx.DiGraph, model: str, dead_models: set[str]) -> Orphan:
    attrs = graph.nodes[model]
    below = nx.descendants(graph, model)
    reports = sorted(n for n in below if graph.nodes[n].get("kind") == "bi_report")
    downstream_models = tuple(sorted(n for n in below if n in dead_models))
    last = max(reports, key=lambda r: (graph.nodes[r].get("last_run_at") or "", r), default=None)
    if reports:
        reason: OrphanReason = "only_inactive_reports"
        states = [f"{graph.nodes[r]['name']} ({_state(graph.nodes[r])})" for r in reports]
        evidence = "no path to a consumer; read only by inactive reports: " + "; ".join(states)
    else:
        reason = "no_downstream_consumer"
        evidence = "no path to a consumer: no BI report or exposure reads it or anything downstream of it"
        semantic = sorted(semantic_name(graph, n) for n in below if graph.nodes[n].get("kind") in SEMANTIC_LAYER_KINDS)
        if semantic:
            evidence += ("; read only by semantic-layer nodes that are not consumers (a semantic model without "
                         "metrics, or protection.semantic_layer off): " + ", ".join(semantic))
    generated = sorted(str(graph.nodes[n].get("name")) for n in below if graph.nodes[n].get("kind") == "exposure")
    if generated:  # downstream of an orphan, an exposure is no consumer: one of the generated file
        evidence += "; its generated exposures do not keep it (their BI reports decide): " + ", ".join(generated)
    if downstream_models:
        evidence += f"; dead downstream models: {len(downstream_models)}"
    last_attrs = graph.nodes[last] if last else {}
    return Orphan(
        unique_id=model, name=str(attrs.get("name")), path=attrs.get("path"), reason=reason, evidence=evidence,
        downstream_models=downstream_models, inactive_reports=tuple(graph.nodes[r]["token"] for r in reports),
        last_consumer=last_attrs.get("token"), last_consumer_name=last_attrs.get("name"),
        last_consumer_last_run=last_attrs.get("last_run_at"), materialized=attrs.get("materialized"),
        execution_time=attrs.get("execution_time"), test_count=int(attrs.get("test_count") or 0),
        owner=attrs.get("owner"), age=attrs.get("age"),
    )


def _state(attrs: Mapping) -> str:
    if attrs.get("archived"):
        return "archived"
    if attrs.get("stale"):
        return "stale: " + ", ".join(attrs.get("stale_rules") or ())
    return "dataset" if attrs.get("report_type") == "DatasetReport" else "inactive"


# -- young models: nobody has had time to use them yet ------------------------------------
def model_files(graph: nx.DiGraph, package: str | None = None) -> dict[str, str]:
    """Model id -> its file (``original_file_path``), for the models of ``package`` (all when None)."""
    return {n: attrs["path"] for n, attrs in sorted(graph.nodes(data=True))
            if attrs.get("kind") == "model" and attrs.get("path") and package in (None, attrs.get("package"))}


def record_ages(graph: nx.DiGraph, ages: Mapping[str, FileAge], now: datetime) -> None:
    """Store each model's file age at ``now`` on its node: ``age_days`` (None: unknown) and ``age`` (as shown)."""
    for node, age in ages.items():
        if node in graph:
            graph.nodes[node].update(age_days=age.age_days(now), age=age.describe(now))


def young_reason(attrs: Mapping, min_age_days: int) -> str | None:
    """``young: <age>`` for a model younger than ``min_age_days`` (0 turns the guard off), else None.

    An unknown age is not young: the model is judged on its lineage alone, and its age
    shows as unknown. A first commit after the run's ``now`` (``now`` pinned in the
    past, or clock skew) counts as age 0: the file did not exist yet.
    """
    days = attrs.get("age_days")
    if min_age_days <= 0 or days is None or max(days, 0) >= min_age_days:
        return None
    return f"young: {attrs.get('age')}"


def young_in(graph: nx.DiGraph) -> dict[str, str]:
    """Models that would be orphans but for the age guard -> why (their own age, or the young model they feed)."""
    kept = {n for n, attrs in graph.nodes(data=True)
            if attrs.get("kind") == "model" and "young" in (attrs.get("kept_alive_by") or ())}
    young = {n for n in kept if str(graph.nodes[n].get("consumer") or "").startswith("young:")}
    return {n: graph.nodes[n]["consumer"] if n in young else
            "feeds young models: " + ", ".join(sorted(str(graph.nodes[d].get("name")) for d in
                                                     nx.descendants(graph, n) & young))
            for n in sorted(kept)}
