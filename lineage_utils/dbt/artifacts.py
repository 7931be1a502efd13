"""dbt artifacts (manifest.json v7-v12, run_results.json) read into frozen records.

Raw manifest dicts stop here: everything downstream gets ``DbtNode``/``DbtExposure``
records. Disabled nodes are left out; tests and analyses become attributes of the
nodes they test; ephemeral models keep no relation.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Mapping

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

    def models(self) -> list[DbtNode]:
        return [n for n in self.nodes.values() if n.kind == "model"]


def manifest_version(manifest: Mapping[str, Any], path: Path) -> int:
    url = str((manifest.get("metadata") or {}).get("dbt_schema_version", ""))
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


def _owner(raw: Mapping[str, Any], groups: Mapping[str, Any]) -> str | None:
    meta = _meta(raw)
    owner = meta.get("owner")
    if isinstance(owner, str) and owner:
        return owner
    group = groups.get(f"group.{raw.get('package_name')}.{raw.get('group')}") if raw.get("group") else None
    if group:
        who = group.get("owner") or {}
        return who.get("email") or who.get("name")
    return None


def _meta(raw: Mapping[str, Any]) -> dict[str, Any]:
    meta = dict((raw.get("config") or {}).get("meta") or {})
    meta.update(raw.get("meta") or {})
    return meta


def _tags(raw: Mapping[str, Any]) -> tuple[str, ...]:
    tags = set(raw.get("tags") or []) | set((raw.get("config") or {}).get("tags") or [])
    return tuple(sorted(str(t) for t in tags))


def _relation_name(raw: Mapping[str, Any], materialized: str | None) -> str | None:
    if materialized == "ephemeral":
        return None
    if raw.get("relation_name"):
        return str(raw["relation_name"])
    parts = [raw.get("database"), raw.get("schema"), raw.get("alias") or raw.get("identifier") or raw.get("name")]
    return ".".join(f'"{p}"' for p in parts if p) or None


def _node(raw: Mapping[str, Any], kind: NodeKind, groups: Mapping[str, Any]) -> DbtNode:
    config = raw.get("config") or {}
    materialized = config.get("materialized") if kind != "source" else None
    identifier = raw.get("identifier") if kind == "source" else (raw.get("alias") or raw.get("name"))
    ephemeral = materialized == "ephemeral"
    access = raw.get("access") or config.get("access")
    return DbtNode(
        unique_id=raw["unique_id"],
        kind=kind,
        name=str(raw.get("name")),
        package=str(raw.get("package_name", "")),
        path=str(raw.get("original_file_path") or raw.get("path") or ""),
        database=None if ephemeral else raw.get("database"),
        schema=None if ephemeral else raw.get("schema"),
        identifier=None if ephemeral else identifier,
        relation_name=_relation_name(raw, materialized),
        materialized=materialized,
        tags=_tags(raw),
        meta=_meta(raw),
        access=str(access) if access else None,
        owner=_owner(raw, groups),
        description=str(raw.get("description") or ""),
        fqn=tuple(raw.get("fqn") or ()),
        depends_on=tuple(sorted(set((raw.get("depends_on") or {}).get("nodes") or ()))),
        created_at=raw.get("created_at"),
        source_name=raw.get("source_name") if kind == "source" else None,
    )


def _exposure(raw: Mapping[str, Any]) -> DbtExposure:
    owner = raw.get("owner") or {}
    return DbtExposure(
        unique_id=raw["unique_id"],
        name=str(raw.get("name")),
        type=str(raw.get("type") or ""),
        label=raw.get("label"),
        owner_name=owner.get("name"),
        owner_email=owner.get("email"),
        url=raw.get("url"),
        maturity=raw.get("maturity"),
        path=str(raw.get("original_file_path") or ""),
        depends_on=tuple(sorted(set((raw.get("depends_on") or {}).get("nodes") or ()))),
        tags=_tags(raw),
        meta=_meta(raw),
    )


def _enabled(raw: Mapping[str, Any]) -> bool:
    return (raw.get("config") or {}).get("enabled", True) is not False


def parse_manifest(manifest: Mapping[str, Any], path: Path) -> DbtProject:
    """Turn a manifest dict into a DbtProject (no run results)."""
    version = manifest_version(manifest, path)
    groups = manifest.get("groups") or {}
    nodes: dict[str, DbtNode] = {}
    tests: dict[str, list[str]] = {}
    analyses: list[str] = []
    readers: dict[str, list[str]] = {}
    for uid, raw in (manifest.get("nodes") or {}).items():
        kind = raw.get("resource_type")
        if not _enabled(raw):
            continue
        if kind in GRAPH_RESOURCE_TYPES:
            nodes[uid] = _node(raw, kind, groups)
        elif kind == "test":
            targets = [raw["attached_node"]] if raw.get("attached_node") else (raw.get("depends_on") or {}).get("nodes") or []
            for target in targets:
                tests.setdefault(target, []).append(uid)
        elif kind == "analysis":
            analyses.append(uid)
            for target in (raw.get("depends_on") or {}).get("nodes") or []:
                readers.setdefault(target, []).append(uid)
    for uid, raw in (manifest.get("sources") or {}).items():
        if _enabled(raw):
            nodes[uid] = _node(raw, "source", groups)
    for uid, node_tests in tests.items():
        if uid in nodes:
            nodes[uid] = replace(nodes[uid], tests=tuple(sorted(node_tests)))
    for uid, node_analyses in readers.items():
        if uid in nodes:
            nodes[uid] = replace(nodes[uid], analyses=tuple(sorted(node_analyses)))
    exposures = {
        uid: _exposure(raw) for uid, raw in (manifest.get("exposures") or {}).items() if _enabled(raw)
    }
    metadata = manifest.get("metadata") or {}
    project_name = metadata.get("project_name") or _guess_project_name(nodes)
    return DbtProject(
        project_name=str(project_name),
        schema_version=version,
        adapter_type=metadata.get("adapter_type"),
        generated_at=metadata.get("generated_at"),
        nodes=dict(sorted(nodes.items())),
        exposures=dict(sorted(exposures.items())),
        disabled=tuple(sorted((manifest.get("disabled") or {}).keys())),
        analyses=tuple(sorted(analyses)),
    )


def _guess_project_name(nodes: Mapping[str, DbtNode]) -> str:
    packages = sorted({n.package for n in nodes.values() if n.kind == "model"})
    return packages[0] if packages else ""


def parse_run_results(data: Mapping[str, Any], path: Path) -> dict[str, RunResult]:
    results = data.get("results")
    if not isinstance(results, list):
        raise ArtifactError(f"{path}: no 'results' list (is this a run_results.json?)")
    out: dict[str, RunResult] = {}
    for item in results:
        timing = {t.get("name"): t for t in item.get("timing") or []}
        completed = (timing.get("execute") or {}).get("completed_at")
        out[item["unique_id"]] = RunResult(
            unique_id=item["unique_id"],
            status=str(item.get("status")),
            execution_time=float(item.get("execution_time") or 0.0),
            completed_at=completed,
        )
    return out


def load_manifest(path: Path | str) -> DbtProject:
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, Mapping):
        raise ArtifactError(f"{path}: expected a JSON object at the top level")
    return parse_manifest(data, path)


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
    data = read_json(results_path)
    return replace(project, run_results=parse_run_results(data, results_path))
