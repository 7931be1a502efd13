"""The dbt semantic layer of a manifest (semantic models, metrics, saved queries) as records.

The semantic layer is lineage: a semantic model reads one model, a metric reads
semantic models (and other metrics), a saved query reads metrics. Each becomes a
:class:`SemanticNode` whose ``depends_on`` points upstream, like a model's.

Shapes by manifest version (checked against dbt-core 1.11 and the published schemas):

* v10 (dbt 1.6) and later: ``semantic_models`` (``model: "ref('x')"``, ``node_relation``,
  ``depends_on.nodes`` = the model), ``metrics`` (``type``, ``type_params``,
  ``depends_on.nodes`` = semantic models, and metrics for derived/ratio ones);
  v11 (dbt 1.7) adds ``saved_queries`` (``query_params.metrics``, ``depends_on.nodes`` =
  metrics).
* v7 to v9 (dbt 1.3-1.5): no semantic models; legacy ``metrics`` read a model directly
  (``model: "ref('x')"``, ``calculation_method``, ``depends_on.nodes`` = the model and
  the metrics a derived one uses).

dbt fills ``depends_on.nodes`` when it links the manifest; where a hand-made or
partial manifest leaves it empty, the names are resolved instead (a semantic model's
``model`` ref or ``node_relation``, a metric's measures and metrics, a saved query's
metrics).

The time spine: a model with a ``time_spine:`` property (dbt >= 1.9, the manifest
node's ``time_spine`` key) or, the legacy convention, a model named
``metricflow_time_spine``. MetricFlow needs it whenever the project has a semantic layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal, Mapping

from lineage_utils.dbt.shapes import entry, get_object, get_strings, get_text, require_text, shape_error

SemanticKind = Literal["semantic_model", "metric", "saved_query"]
SEMANTIC_SECTIONS: Mapping[str, SemanticKind] = {
    "semantic_models": "semantic_model", "metrics": "metric", "saved_queries": "saved_query",
}
"""Manifest section -> the kind of node its entries become."""
SEMANTIC_KINDS: tuple[SemanticKind, ...] = tuple(SEMANTIC_SECTIONS.values())
LEGACY_TIME_SPINE_MODEL = "metricflow_time_spine"
"""dbt-core's ``LEGACY_TIME_SPINE_MODEL_NAME``: the time spine of projects without ``time_spine:``."""
_REF_RE = re.compile(r"""ref\(\s*['"]([^'"]+)['"]""")


@dataclass(frozen=True)
class SemanticNode:
    """A semantic model, metric or saved query of the dbt semantic layer."""

    unique_id: str
    kind: SemanticKind
    name: str
    package: str
    path: str
    label: str | None
    description: str
    metric_type: str | None
    """Metrics only: simple, ratio, derived, cumulative, conversion (legacy: the calculation method)."""
    tags: tuple[str, ...]
    meta: Mapping[str, Any]
    fqn: tuple[str, ...]
    depends_on: tuple[str, ...]
    created_at: float | None


TIME_SPINE_NAMES = frozenset({LEGACY_TIME_SPINE_MODEL, "time_spinner"})
"""Model names taken for a time spine without ``time_spine:`` (dbt-core's legacy name and the
``time_spinner`` convention some projects use): keeping one too many errs toward keeping."""


def is_time_spine(raw: Mapping[str, Any]) -> bool:
    """Whether a manifest model entry is a time spine (``time_spine:`` config or a conventional name)."""
    return isinstance(raw.get("time_spine"), Mapping) or raw.get("name") in TIME_SPINE_NAMES


def _enabled_entries(manifest: Mapping[str, Any], section: str,
                     path: Path) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    for uid, raw in get_object(manifest, section, path).items():
        if not isinstance(raw, Mapping):
            raise shape_error(path, section, uid, "an object", raw)
        config = raw.get("config")
        if isinstance(config, Mapping) and config.get("enabled", True) is False:
            continue
        yield uid, raw, entry(section, uid)


def _names(items: Iterable[Any]) -> list[str]:
    """Names from a list of strings or of ``{name: ...}`` objects (metric and measure inputs)."""
    out = []
    for item in items:
        name = item.get("name") if isinstance(item, Mapping) else item
        if isinstance(name, str) and name:
            out.append(name)
    return out


class _Names:
    """Name -> unique_id lookups for the fallbacks, preferring the entry's own package."""

    def __init__(self, models: Mapping[str, Mapping[str, Any]], manifest: Mapping[str, Any], path: Path):
        self.models = self._index(models.items())
        self.relations = {str(m.get("relation_name")).lower(): uid for uid, m in models.items() if m.get("relation_name")}
        self.metrics = self._index((uid, raw) for uid, raw, _ in _enabled_entries(manifest, "metrics", path))
        semantic = list(_enabled_entries(manifest, "semantic_models", path))
        self.measures = self._index((uid, {"name": name, "package_name": raw.get("package_name")})
                                    for uid, raw, _ in semantic for name in _names(raw.get("measures") or ()))

    @staticmethod
    def _index(items: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, list[tuple[str, str]]]:
        index: dict[str, list[tuple[str, str]]] = {}
        for uid, raw in items:
            index.setdefault(str(raw.get("name")), []).append((str(raw.get("package_name")), uid))
        return index

    @staticmethod
    def find(index: Mapping[str, list[tuple[str, str]]], name: str, package: str | None) -> str | None:
        found = sorted(index.get(name, ()))
        own = [uid for pkg, uid in found if pkg == package]
        return (own or [uid for _, uid in found] or [None])[0]


def _fallback_depends_on(kind: SemanticKind, raw: Mapping[str, Any], names: _Names) -> list[str]:
    """What a semantic node reads, from names, when the manifest left ``depends_on.nodes`` empty."""
    package = raw.get("package_name")
    found: list[str | None] = []
    model = raw.get("model")
    if isinstance(model, str) and (match := _REF_RE.search(model)):
        found.append(names.find(names.models, match.group(1), package))
    if kind == "semantic_model":
        relation = raw.get("node_relation")
        if isinstance(relation, Mapping) and relation.get("relation_name"):
            found.append(names.relations.get(str(relation["relation_name"]).lower()))
    elif kind == "metric":
        params = raw.get("type_params") if isinstance(raw.get("type_params"), Mapping) else {}
        measures = [params.get("measure"), *(params.get("input_measures") or ())]
        found += [names.find(names.measures, m, package) for m in _names(measures)]
        metrics = [*(params.get("metrics") or ()), params.get("numerator"), params.get("denominator")]
        found += [names.find(names.metrics, m, package) for m in _names(metrics)]
    else:
        query = raw.get("query_params") if isinstance(raw.get("query_params"), Mapping) else {}
        found += [names.find(names.metrics, m, package) for m in _names(query.get("metrics") or ())]
    return [uid for uid in found if uid and uid != raw.get("unique_id")]


def _semantic_node(kind: SemanticKind, raw: Mapping[str, Any], names: _Names, path: Path,
                   where: str) -> SemanticNode:
    config = get_object(raw, "config", path, where)
    depends = get_strings(get_object(raw, "depends_on", path, where), "nodes", path, f"{where}.depends_on")
    if not depends:
        depends = _fallback_depends_on(kind, raw, names)
    meta = {**get_object(config, "meta", path, f"{where}.config"), **get_object(raw, "meta", path, where)}
    tags = set(get_strings(raw, "tags", path, where)) | set(get_strings(config, "tags", path, f"{where}.config"))
    metric_type = None
    if kind == "metric":
        metric_type = get_text(raw, "type", path, where) or get_text(raw, "calculation_method", path, where)
    created = raw.get("created_at")
    return SemanticNode(
        unique_id=require_text(raw, "unique_id", path, where), kind=kind,
        name=str(get_text(raw, "name", path, where)), package=get_text(raw, "package_name", path, where) or "",
        path=get_text(raw, "original_file_path", path, where) or get_text(raw, "path", path, where) or "",
        label=get_text(raw, "label", path, where), description=get_text(raw, "description", path, where) or "",
        metric_type=metric_type, tags=tuple(sorted(tags)), meta=meta,
        fqn=tuple(get_strings(raw, "fqn", path, where)), depends_on=tuple(sorted(set(depends))),
        created_at=float(created) if isinstance(created, (int, float)) and not isinstance(created, bool) else None,
    )


def parse_semantic_layer(manifest: Mapping[str, Any], path: Path) -> dict[str, SemanticNode]:
    """Every enabled semantic model, metric and saved query of the manifest, by unique_id (sorted)."""
    if not any(get_object(manifest, section, path) for section in SEMANTIC_SECTIONS):
        return {}
    models = {uid: raw for uid, raw in get_object(manifest, "nodes", path).items()
              if isinstance(raw, Mapping) and raw.get("resource_type") == "model"}
    names = _Names(models, manifest, path)
    found: dict[str, SemanticNode] = {}
    for section, kind in SEMANTIC_SECTIONS.items():
        for uid, raw, where in _enabled_entries(manifest, section, path):
            found[uid] = _semantic_node(kind, raw, names, path, where)
    return dict(sorted(found.items()))
