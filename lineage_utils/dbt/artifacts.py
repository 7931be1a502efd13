"""dbt artifacts (manifest.json v7-v12, run_results.json) read into frozen records.

Raw manifest dicts stop here: everything downstream gets ``DbtNode``/``DbtExposure``
records, and ``SemanticNode`` records for the semantic layer (``dbt.semantic``).
Disabled nodes are left out; tests and analyses become attributes of the nodes they
test; ephemeral models keep no relation.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Literal, Mapping

import networkx as nx

from lineage_utils.dbt.shapes import (entry, get_list, get_number, get_object, get_strings, get_text, json_kind,
                                      require_text, shape_error)
from lineage_utils.dbt.semantic import SemanticNode, is_time_spine, parse_semantic_layer
from lineage_utils.dbt.tests_of import DbtTest, parse_test, project_relative, tests_per_node
from lineage_utils.errors import ArtifactError
from lineage_utils.jsonio import read_json

logger = logging.getLogger(__name__)

SUPPORTED_MANIFEST_VERSIONS = range(7, 13)
NodeKind = Literal["model", "source", "seed", "snapshot", "exposure"]
GRAPH_RESOURCE_TYPES: tuple[str, ...] = ("model", "seed", "snapshot")
_VERSION_RE = re.compile(r"/manifest/v(\d+)\.json")


@dataclass(frozen=True)
class DbtNode:
    """A model, source, seed or snapshot: something with (usually) a relation."""

    unique_id: str
    kind: NodeKind
    name: str
    package: str
    path: str
    database: str | None
    schema: str | None
    identifier: str | None
    relation_name: str | None
    materialized: str | None
    tags: tuple[str, ...]
    meta: Mapping[str, Any]
    access: str | None
    owner: str | None
    description: str
    fqn: tuple[str, ...]
    depends_on: tuple[str, ...]
    created_at: float | None
    source_name: str | None = None
    tests: tuple[str, ...] = ()
    analyses: tuple[str, ...] = ()
    time_spine: bool = False
    """A model the semantic layer uses as its time spine (``dbt.semantic.is_time_spine``)."""
    patch_path: str | None = None
    """The YAML properties file that documents it (``models/x.yml``), if any."""
    access_explicit: bool = False
    """``access`` was set, not left at dbt's default ``protected`` (``_model_facts``)."""
    contract_enforced: bool = False
    """``config.contract.enforced``: dbt checks its columns and refuses deleting it before its deprecation date."""
    deprecation_date: str | None = None
    """dbt's ``deprecation_date`` as the manifest writes it (ISO, ``2030-01-01T00:00:00+00:00``), if set."""


@dataclass(frozen=True)
class DbtExposure:
    unique_id: str
    name: str
    type: str
    label: str | None
    owner_name: str | None
    owner_email: str | None
    url: str | None
    maturity: str | None
    path: str
    depends_on: tuple[str, ...]
    tags: tuple[str, ...]
    meta: Mapping[str, Any]


@dataclass(frozen=True)
class RunResult:
    unique_id: str
    status: str
    execution_time: float
    completed_at: str | None


@dataclass(frozen=True)
class DbtProject:
    """What the analyses need from one manifest (+ optional run_results)."""

    project_name: str
    schema_version: int
    adapter_type: str | None
    generated_at: str | None
    nodes: Mapping[str, DbtNode]
    exposures: Mapping[str, DbtExposure]
    disabled: tuple[str, ...]
    analyses: tuple[str, ...]
    run_results: Mapping[str, RunResult] = field(default_factory=dict)
    tests: Mapping[str, DbtTest] = field(default_factory=dict)
    """Enabled data tests by unique_id: where each is declared, which nodes it touches."""
    semantic: Mapping[str, SemanticNode] = field(default_factory=dict)
    """Semantic models, metrics and saved queries (the dbt semantic layer), by unique_id."""
    missing_dependencies: tuple[tuple[str, str], ...] = ()
    """(node, dependency) where ``depends_on`` names a node the manifest does not have."""
    cycles: tuple[tuple[str, ...], ...] = ()
    """Sets of nodes that depend on each other in a circle (dbt itself refuses these)."""

    def models(self) -> list[DbtNode]:
        return [n for n in self.nodes.values() if n.kind == "model"]

    def semantic_nodes(self, kind: str) -> list[SemanticNode]:
        return [n for n in self.semantic.values() if n.kind == kind]


def manifest_version(manifest: Mapping[str, Any], path: Path) -> int:
    metadata = get_object(manifest, "metadata", path)
    url = str(metadata.get("dbt_schema_version", ""))
    match = _VERSION_RE.search(url)
    if not match:
        raise ArtifactError(f"{path}: no manifest schema version in metadata.dbt_schema_version ({url!r})")
    version = int(match.group(1))
    if version not in SUPPORTED_MANIFEST_VERSIONS:
        raise ArtifactError(
            f"{path}: manifest schema v{version} is not supported "
            f"(supported: v{SUPPORTED_MANIFEST_VERSIONS.start} to v{SUPPORTED_MANIFEST_VERSIONS.stop - 1})"
        )
    return version


def _owner(raw: Mapping[str, Any], groups: Mapping[str, Any], path: Path, where: str) -> str | None:
    owner = _meta(raw, path, where).get("owner")
    if isinstance(owner, str) and owner:
        return owner
    group = get_text(raw, "group", path, where)
    found = groups.get(f"group.{raw.get('package_name')}.{group}") if group else None
    if isinstance(found, Mapping):
        who = get_object(found, "owner", path, entry("groups", f"group.{raw.get('package_name')}.{group}"))
        return who.get("email") or who.get("name")
    return None


def _meta(raw: Mapping[str, Any], path: Path, where: str) -> dict[str, Any]:
    meta = dict(get_object(get_object(raw, "config", path, where), "meta", path, f"{where}.config"))
    meta.update(get_object(raw, "meta", path, where))
    return meta


def _tags(raw: Mapping[str, Any], path: Path, where: str) -> tuple[str, ...]:
    config = get_object(raw, "config", path, where)
    tags = set(get_strings(raw, "tags", path, where)) | set(get_strings(config, "tags", path, f"{where}.config"))
    return tuple(sorted(tags))


def _depends_on(raw: Mapping[str, Any], path: Path, where: str) -> tuple[str, ...]:
    nodes = get_strings(get_object(raw, "depends_on", path, where), "nodes", path, f"{where}.depends_on")
    return tuple(sorted(set(nodes)))


def _relation_name(raw: Mapping[str, Any], materialized: str | None) -> str | None:
    if materialized == "ephemeral":
        return None
    if raw.get("relation_name"):
        return str(raw["relation_name"])
    parts = [raw.get("database"), raw.get("schema"), raw.get("alias") or raw.get("identifier") or raw.get("name")]
    return ".".join(f'"{p}"' for p in parts if p) or None


_NODE_TEXT = ("name", "package_name", "original_file_path", "path", "database", "schema", "alias", "identifier",
              "relation_name", "description", "access", "source_name")


def _model_facts(raw: Mapping[str, Any], access: str | None, path: Path, where: str) -> dict[str, Any]:
    """Explicit access, an enforced contract, the deprecation date (no key: False/None).

    Measured on dbt-core 1.11 (manifest v12): ``access`` reads ``protected`` set or not, but ``unrendered_config``
    has ``access`` only when set (YAML, ``config()``, ``+access``); older manifests: only another value is explicit."""
    enforced = get_object(get_object(raw, "config", path, where), "contract", path, f"{where}.config").get("enforced")
    if enforced is not None and not isinstance(enforced, bool):
        raise shape_error(path, f"{where}.config.contract", "enforced", "a boolean", enforced)
    explicit = "access" in get_object(raw, "unrendered_config", path, where) or access not in (None, "protected")
    return dict(access_explicit=explicit, contract_enforced=enforced is True,
                deprecation_date=get_text(raw, "deprecation_date", path, where) or None)


def _node(raw: Mapping[str, Any], kind: NodeKind, groups: Mapping[str, Any], path: Path, where: str) -> DbtNode:
    text = {key: get_text(raw, key, path, where) for key in _NODE_TEXT}
    config = get_object(raw, "config", path, where)
    materialized = get_text(config, "materialized", path, f"{where}.config") if kind != "source" else None
    identifier = text["identifier"] if kind == "source" else (text["alias"] or text["name"])
    ephemeral = materialized == "ephemeral"
    access = text["access"] or get_text(config, "access", path, f"{where}.config")
    return DbtNode(
        unique_id=require_text(raw, "unique_id", path, where),
        kind=kind,
        name=str(text["name"]),
        package=text["package_name"] or "",
        path=text["original_file_path"] or text["path"] or "",
        database=None if ephemeral else text["database"],
        schema=None if ephemeral else text["schema"],
        identifier=None if ephemeral else identifier,
        relation_name=_relation_name(raw, materialized),
        materialized=materialized,
        tags=_tags(raw, path, where),
        meta=_meta(raw, path, where),
        access=access or None,
        owner=_owner(raw, groups, path, where),
        description=text["description"] or "",
        fqn=tuple(get_strings(raw, "fqn", path, where)),
        depends_on=_depends_on(raw, path, where),
        created_at=get_number(raw, "created_at", path, where),
        source_name=text["source_name"] if kind == "source" else None,
        time_spine=kind == "model" and is_time_spine(raw),
        patch_path=project_relative(get_text(raw, "patch_path", path, where)),
        **_model_facts(raw, access, path, where),
    )


def _exposure(raw: Mapping[str, Any], path: Path, where: str) -> DbtExposure:
    owner = get_object(raw, "owner", path, where)
    email = owner.get("email")
    return DbtExposure(
        unique_id=require_text(raw, "unique_id", path, where),
        name=str(get_text(raw, "name", path, where)),
        type=get_text(raw, "type", path, where) or "",
        label=get_text(raw, "label", path, where),
        owner_name=get_text(owner, "name", path, f"{where}.owner"),
        owner_email=", ".join(email) if isinstance(email, list) else get_text(owner, "email", path, f"{where}.owner"),
        url=get_text(raw, "url", path, where),
        maturity=get_text(raw, "maturity", path, where),
        path=get_text(raw, "original_file_path", path, where) or "",
        depends_on=_depends_on(raw, path, where),
        tags=_tags(raw, path, where),
        meta=_meta(raw, path, where),
    )


def _enabled(raw: Mapping[str, Any]) -> bool:
    config = raw.get("config")
    return not isinstance(config, Mapping) or config.get("enabled", True) is not False


def _entries(manifest: Mapping[str, Any], section: str, path: Path) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    """(unique_id, raw, where) of each entry of a manifest section, each one an object."""
    for uid, raw in get_object(manifest, section, path).items():
        if not isinstance(raw, Mapping):
            raise shape_error(path, section, uid, "an object", raw)
        yield uid, raw, entry(section, uid)


def parse_manifest(manifest: Mapping[str, Any], path: Path) -> DbtProject:
    """Turn a manifest dict into a DbtProject (no run results); a bad shape names file and key."""
    version = manifest_version(manifest, path)
    groups = get_object(manifest, "groups", path)
    nodes: dict[str, DbtNode] = {}
    tests: dict[str, DbtTest] = {}
    analyses: list[str] = []
    readers: dict[str, list[str]] = {}
    for uid, raw, where in _entries(manifest, "nodes", path):
        kind = get_text(raw, "resource_type", path, where)
        if not _enabled(raw):
            continue
        if kind in GRAPH_RESOURCE_TYPES:
            nodes[uid] = _node(raw, kind, groups, path, where)
        elif kind == "test":
            tests[uid] = parse_test(raw, path, where)  # on every node it touches (dbt.tests_of)
        elif kind == "analysis":
            analyses.append(uid)
            for target in _depends_on(raw, path, where):
                readers.setdefault(target, []).append(uid)
    for uid, raw, where in _entries(manifest, "sources", path):
        if _enabled(raw):
            nodes[uid] = _node(raw, "source", groups, path, where)
    for uid, node_tests in tests_per_node(tests.values()).items():
        if uid in nodes:
            nodes[uid] = replace(nodes[uid], tests=tuple(sorted(node_tests)))
    for uid, node_analyses in readers.items():
        if uid in nodes:
            nodes[uid] = replace(nodes[uid], analyses=tuple(sorted(node_analyses)))
    exposures = {uid: _exposure(raw, path, where)
                 for uid, raw, where in _entries(manifest, "exposures", path) if _enabled(raw)}
    metadata = get_object(manifest, "metadata", path)
    project_name = get_text(metadata, "project_name", path, "metadata") or _guess_project_name(nodes)
    known = {uid for section in _ID_SECTIONS for uid in get_object(manifest, section, path)}
    semantic = parse_semantic_layer(manifest, path)
    lineage = (*nodes.items(), *exposures.items(), *semantic.items())
    return DbtProject(
        project_name=str(project_name),
        schema_version=version,
        adapter_type=get_text(metadata, "adapter_type", path, "metadata"),
        generated_at=get_text(metadata, "generated_at", path, "metadata"),
        nodes=dict(sorted(nodes.items())),
        exposures=dict(sorted(exposures.items())),
        disabled=tuple(sorted(get_object(manifest, "disabled", path).keys())),
        analyses=tuple(sorted(analyses)),
        tests=dict(sorted(tests.items())),
        semantic=semantic,
        missing_dependencies=_missing_dependencies(lineage, set(nodes) | set(semantic), known),
        cycles=_cycles(lineage, set(nodes) | set(semantic)),
    )


def _guess_project_name(nodes: Mapping[str, DbtNode]) -> str:
    packages = sorted({n.package for n in nodes.values() if n.kind == "model"})
    return packages[0] if packages else ""


_ID_SECTIONS = ("nodes", "sources", "exposures", "metrics", "semantic_models", "saved_queries", "unit_tests")
"""Manifest sections whose keys a ``depends_on`` may name (a disabled node is not among them)."""


_Lineage = tuple[tuple[str, "DbtNode | DbtExposure | SemanticNode"], ...]
"""(unique_id, record) of everything with a ``depends_on``."""


def _missing_dependencies(lineage: _Lineage, graph_ids: set[str], known: set[str]) -> tuple[tuple[str, str], ...]:
    """(node, dependency) for each ``depends_on`` entry naming no enabled node of the manifest."""
    found = {(uid, dep) for uid, item in lineage for dep in item.depends_on
             if dep not in graph_ids and dep not in known}
    return tuple(sorted(found))


def _cycles(lineage: _Lineage, graph_ids: set[str]) -> tuple[tuple[str, ...], ...]:
    """The node sets that depend on themselves (strongly connected, or a self-dependency)."""
    graph = nx.DiGraph()
    graph.add_edges_from((dep, uid) for uid, item in lineage for dep in item.depends_on if dep in graph_ids)
    cycles = [tuple(sorted(c)) for c in nx.strongly_connected_components(graph)
              if len(c) > 1 or graph.has_edge(next(iter(c)), next(iter(c)))]
    return tuple(sorted(cycles))


def parse_run_results(data: Mapping[str, Any], path: Path) -> dict[str, RunResult]:
    results = data.get("results")
    if not isinstance(results, list):
        raise ArtifactError(f"{path}: no 'results' list (is this a run_results.json?)")
    out: dict[str, RunResult] = {}
    for index, item in enumerate(results):
        where = f"results[{index}]"
        if not isinstance(item, Mapping):
            raise shape_error(path, "results", str(index), "an object", item)
        unique_id = require_text(item, "unique_id", path, where)
        timing = {}
        for step_index, step in enumerate(get_list(item, "timing", path, where)):
            if not isinstance(step, Mapping):
                raise shape_error(path, f"{where}.timing", str(step_index), "an object", step)
            timing[step.get("name")] = step
        execute = timing.get("execute") or {}
        out[unique_id] = RunResult(
            unique_id=unique_id,
            status=str(item.get("status")),
            execution_time=get_number(item, "execution_time", path, where) or 0.0,
            completed_at=get_text(execute, "completed_at", path, f"{where}.timing.execute"),
        )
    return out


def read_artifact(path: Path) -> Mapping[str, Any]:
    """A JSON object from ``path`` (``.gz`` too); corrupt gzip data or another shape names the file."""
    data = read_json(path)
    if not isinstance(data, Mapping):
        raise ArtifactError(f"{path}: expected a JSON object at the top level, got {json_kind(data)}")
    return data


def load_manifest(path: Path | str) -> DbtProject:
    path = Path(path)
    return parse_manifest(read_artifact(path), path)


def find_artifact(folder: Path, name: str) -> Path | None:
    """`name` or `name.gz` inside folder, whichever exists."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def load_project(target_dir: Path | str, param: str = "dbt.target_dir") -> DbtProject:
    """manifest.json (required) and run_results.json (optional) from a dbt target folder."""
    target_dir = Path(target_dir)
    if not str(target_dir) or not target_dir.is_dir():
        raise ArtifactError(f"params key '{param}': folder not found: {target_dir}")
    manifest_path = find_artifact(target_dir, "manifest.json")
    if manifest_path is None:
        raise ArtifactError(f"params key '{param}': no manifest.json in {target_dir}")
    project = load_manifest(manifest_path)
    results_path = find_artifact(target_dir, "run_results.json")
    if results_path is None:
        logger.info("no run_results.json in %s: runtimes will be empty", target_dir)
        return project
    return replace(project, run_results=parse_run_results(read_artifact(results_path), results_path))
