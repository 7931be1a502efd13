"""The four stages of the chain, one function each: read the run folder, write it.

Notebooks call these and display what they return. A stage whose inputs are missing
(a notebook opened on its own in JupyterLab) first runs the stages before it, so
every notebook passes "Restart & Run All" alone.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from lineage_utils import records as frames
from lineage_utils.bi import snapshot as bi_snapshot
from lineage_utils.dbt import artifacts as dbt_artifacts
from lineage_utils.dbt import build as dbt_build
from lineage_utils.publish import views
from lineage_utils.lineage.centrality import compute_centrality, importance_vs_runtime
from lineage_utils.errors import ArtifactError
from lineage_utils.dbt.exposures import PlannedExposure, plan_exposures, render_exposures_yaml
from lineage_utils.lineage.graph import build_lineage, from_node_link, to_node_link
from lineage_utils.lineage.orphans import Orphan, Protection, essential_keepers, find_consumers, find_orphans
from lineage_utils.params import load_params
from lineage_utils.lineage.query_refs import relations_from_nodes, resolution_rate, resolve_query_refs
from lineage_utils.run_folder import Run
from lineage_utils.lineage.staleness import StaleReport, StalenessRules, find_stale_reports

logger = logging.getLogger(__name__)

STAGES: tuple[str, ...] = ("01_crawl", "02_merge", "03_rank", "04_cleanup")
_OUTPUT = {"01_crawl": "crawl_status", "02_merge": "lineage", "03_rank": "centrality", "04_cleanup": "actions"}


def open_run(params_path: str, run_dir: str = "", stage: str = "01_crawl") -> Run:
    """The run a notebook works in; without a run_dir, the interactive run `runs/lab`.

    Stages before ``stage`` whose outputs are missing are run first.
    """
    params = load_params(params_path)
    views.configure_display()
    folder = Path(run_dir) if run_dir else params.runs_dir / "lab"
    run = Run(run_dir=folder.resolve(), params=params)
    run.data_dir.mkdir(parents=True, exist_ok=True)
    for earlier in STAGES[: STAGES.index(stage)]:
        if not run.exists(_OUTPUT[earlier]):
            logger.info("%s: outputs missing, running it first", earlier)
            RUNNERS[earlier](run)
    return run


# -- 01 crawl ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CrawlResult:
    counts: pd.DataFrame
    status: dict[str, Any]
    built_dbt: bool


def crawl(run: Run) -> CrawlResult:
    params = run.params
    built = False
    if params["dbt.build"]:
        built = dbt_build.ensure_built(params.path("dbt.project_dir"), params.path("dbt.target_dir"))
    project = dbt_artifacts.load_project(params.path("dbt.target_dir") or Path(""))
    if params["bi.source"] == "snapshot":
        snapshot_dir = params.path("bi.snapshot_dir")
        if snapshot_dir is None:
            raise ArtifactError("params key 'bi.snapshot_dir' is empty")
        bundle = bi_snapshot.read_snapshot_dir(snapshot_dir)
        origin = str(snapshot_dir)
        status: dict[str, Any] = {"complete": True, "source": "snapshot", "origin": origin, "errors": [],
                                  "missing": []}
    else:
        from lineage_utils.bi.adapter import adapter_for  # the HTTP stack only for a live crawl

        bundle, crawled = adapter_for(params).crawl(full=params["bi.full_crawl"], progress=True)
        origin = f"{params['bi.base_url']} workspace {params['bi.workspace']}"
        status = {**crawled, "origin": origin}
    snapshot = bi_snapshot.parse_bundle(bundle, origin=origin)
    status.update(workspace=snapshot.workspace, captured_at=snapshot.captured_at,
                  dbt_schema_version=project.schema_version, dbt_generated_at=project.generated_at)
    nodes = frames.dbt_nodes_frame(project)
    run.write_json("bi_snapshot", bundle)
    run.write_frame("reports", frames.reports_frame(snapshot))
    run.write_frame("queries", frames.queries_frame(snapshot))
    run.write_frame("dbt_nodes", nodes)
    run.write_frame("dbt_edges", frames.dbt_edges_frame(project))
    run.write_json("crawl_status", status)
    counts = {
        "models": int((nodes["kind"] == "model").sum()), "sources": int((nodes["kind"] == "source").sum()),
        "seeds": int((nodes["kind"] == "seed").sum()), "snapshots": int((nodes["kind"] == "snapshot").sum()),
        "exposures": int((nodes["kind"] == "exposure").sum()), "spaces": len(snapshot.spaces),
        "reports": len(snapshot.reports), "queries": len(snapshot.queries),
        "data_sources": len(snapshot.data_sources),
    }
    run.update_summary(**counts, crawl_complete=bool(status["complete"]), workspace=snapshot.workspace,
                       project=project.project_name)
    table = pd.DataFrame(sorted(counts.items()), columns=["what", "count"])
    return CrawlResult(counts=table, status=status, built_dbt=built)


def load_snapshot(run: Run) -> bi_snapshot.BiSnapshot:
    return bi_snapshot.parse_bundle(run.read_json("bi_snapshot"), origin=str(run.path("bi_snapshot")))


# -- 02 merge ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MergeResult:
    refs: pd.DataFrame
    graph: nx.DiGraph
    stale: list[StaleReport]


def stale_reports(run: Run, snapshot: bi_snapshot.BiSnapshot) -> list[StaleReport]:
    return find_stale_reports(snapshot.reports.values(), StalenessRules.from_params(run.params))


def merge(run: Run) -> MergeResult:
    params = run.params
    snapshot = load_snapshot(run)
    nodes = run.read_frame("dbt_nodes")
    refs = resolve_query_refs(
        snapshot.queries, snapshot.data_sources, snapshot.definitions, relations_from_nodes(nodes),
        params.data_source_config, params["sql.dialects"], params.path("sql.cache_dir"), params["sql.workers"],
    )
    stale = stale_reports(run, snapshot)
    graph = build_lineage(nodes, run.read_frame("dbt_edges"), snapshot.reports.values(), snapshot.queries,
                          {s.token: s.rules for s in stale}, refs)
    graph.graph.update(workspace=snapshot.workspace, run_id=run.run_id)
    run.write_frame("query_refs", refs)
    run.write_json("lineage", to_node_link(graph))
    run.update_summary(references=int(refs["status"].notna().sum()), ref_resolution_rate=round(resolution_rate(refs), 4),
                       ambiguous_references=int((refs["status"] == "ambiguous").sum()),
                       unparsed_queries=int((refs["status"] == "unparsed").sum()))
    return MergeResult(refs=refs, graph=graph, stale=stale)


def load_graph(run: Run) -> nx.DiGraph:
    return from_node_link(run.read_json("lineage"))


def orphan_ids(run: Run, graph: nx.DiGraph) -> set[str]:
    """The orphan models of a graph under the run's protection rules (for colouring)."""
    return {o.unique_id for o in find_orphans(graph, find_consumers(graph, Protection.from_params(run.params)))}


# -- 03 rank -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RankResult:
    centrality: pd.DataFrame
    priorities: pd.DataFrame


def rank(run: Run) -> RankResult:
    graph = load_graph(run)
    table = compute_centrality(graph, run.params["centrality.backend"])
    run.write_frame("centrality", table)
    top = table[table["kind"] == "model"].head(1)
    run.update_summary(most_central_model=None if top.empty else top["name"].iloc[0])
    return RankResult(centrality=table, priorities=importance_vs_runtime(table, graph))


# -- 04 cleanup --------------------------------------------------------------------------
@dataclass(frozen=True)
class CleanupResult:
    stale: pd.DataFrame
    orphans: pd.DataFrame
    keepers: pd.DataFrame
    exposures_yaml: str
    exposures: list[PlannedExposure]
    actions: list[dict[str, Any]]
    withheld: str | None


def cleanup(run: Run) -> CleanupResult:
    params = run.params
    graph = load_graph(run)
    snapshot = load_snapshot(run)
    status = run.read_json("crawl_status")
    stale = stale_reports(run, snapshot)
    consumers = find_consumers(graph, Protection.from_params(params))
    orphans = find_orphans(graph, consumers)
    keepers = essential_keepers(graph, consumers)
    users = {u.username: {"name": u.name, "email": u.email} for u in snapshot.users.values()}
    planned = plan_exposures(graph, users, snapshot.workspace)
    exposures_yaml = render_exposures_yaml(graph, planned)
    withheld = None
    if not status.get("complete") and not params["cleanup.allow_incomplete"]:
        withheld = "the crawl was incomplete: deletion proposals are withheld (cleanup.allow_incomplete is off)"
    actions = plan_actions(stale, [] if withheld else orphans, run.run_id)
    stale_frame = frames.records_frame(stale, StaleReport)
    orphan_frame = frames.records_frame(orphans, Orphan)
    special = {m: [k for k in ks if k != "active_report"] for m, ks in keepers.items()}
    keeper_frame = pd.DataFrame(
        [(m, graph.nodes[m].get("name"), ", ".join(k)) for m, k in special.items() if k],
        columns=["unique_id", "name", "kept_alive_only_by"],
    )
    run.write_frame("stale_reports", stale_frame)
    run.write_frame("orphan_models", orphan_frame)
    run.write_text("exposures", exposures_yaml)
    run.write_jsonl("actions", actions)
    run.write_text("cleanup_patch", "" if withheld else cleanup_patch(params.path("dbt.project_dir"), orphans))
    run.update_summary(stale_reports=len(stale), orphan_models=len(orphans),
                       exposures_generated=len(planned),
                       deletions_withheld=bool(withheld))
    return CleanupResult(stale=stale_frame, orphans=orphan_frame, keepers=keeper_frame,
                         exposures_yaml=exposures_yaml, exposures=planned, actions=actions, withheld=withheld)


def plan_actions(stale: list[StaleReport], orphans: list[Orphan], run_id: str) -> list[dict[str, Any]]:
    """Dry-run action records: archive stale reports, delete orphan models."""
    actions = [
        {"action": "archive_report", "target": f"mode.report.{s.token}", "name": s.name, "evidence": s.evidence,
         "rules": list(s.rules), "mode": "dry_run", "result": "planned", "run_id": run_id}
        for s in stale
    ]
    actions += [
        {"action": "delete_model", "target": o.unique_id, "name": o.name, "path": o.path, "evidence": o.evidence,
         "reason": o.reason, "mode": "dry_run", "result": "planned", "run_id": run_id}
        for o in orphans
    ]
    return actions


def cleanup_patch(project_dir: Path | None, orphans: list[Orphan]) -> str:
    """A unified diff that deletes the orphan models' SQL files (for review, not applied)."""
    if project_dir is None:
        return ""
    chunks = []
    for orphan in orphans:
        if not orphan.path:
            continue
        source = project_dir / orphan.path
        if not source.is_file():
            continue
        lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
        chunks.append(f"diff --git a/{orphan.path} b/{orphan.path}\ndeleted file mode 100644\n")
        chunks.extend(difflib.unified_diff(lines, [], f"a/{orphan.path}", "/dev/null"))
    return "".join(chunks)


RUNNERS = {"01_crawl": crawl, "02_merge": merge, "03_rank": rank, "04_cleanup": cleanup}
