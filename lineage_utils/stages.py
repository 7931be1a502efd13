"""The four stages of the chain, one function each: read the run folder, call, write it.

This module only orchestrates: each stage reads its inputs from the run folder, calls
the package's readers (``dbt``, ``bi``), deciders (``lineage``) and planners
(``actions``), writes its outputs and returns what the notebook shows. A decision is
made once, by the stage that owns it, and stored: staleness and orphans in 02_merge,
on the nodes of ``lineage.json``.

A stage opened on its own (a notebook in JupyterLab) first runs every earlier stage
whose outputs are missing or were made under other params (``open_run``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import networkx as nx
import pandas as pd

from lineage_utils.actions.exposures_file import (ExposuresFile, hand_written_exposures, manifest_exposures,
                                                plan_exposures_file, read_current_file)
from lineage_utils.actions.apply import Applied, apply_cleanup
from lineage_utils.actions.dry_run import DryRun, plan_dry_run, run_link
from lineage_utils.actions.records import Action
from lineage_utils.bi import snapshot as bi_snapshot
from lineage_utils.bi.frames import queries_frame, reports_frame
from lineage_utils.bi.hal import report_url
from lineage_utils.bi.status import CrawlError, CrawlStatus
from lineage_utils.dbt import artifacts as dbt_artifacts
from lineage_utils.dbt import build as dbt_build
from lineage_utils.dbt.docs import dbt_docs_frame, load_docs, read_dbt_docs
from lineage_utils.dbt.exposures import PlannedExposure, plan_exposures
from lineage_utils.dbt.frames import dbt_edges_frame, dbt_nodes_frame, read_semantic_nodes
from lineage_utils.dbt.git_age import file_ages
from lineage_utils.dbt.tests_of import dbt_tests_frame, properties_paths, read_dbt_tests
from lineage_utils.errors import ArtifactError, ChainError
from lineage_utils.actions.pulls import read_merged_cleanups
from lineage_utils.history.invocations import utc_naive
from lineage_utils.history.queries import cleanup_merges, read_trends
from lineage_utils.history.recording import Recorded, record_run
from lineage_utils.history.store import CleanupMerge
from lineage_utils.lineage.centrality import rank_nodes
from lineage_utils.lineage.critical_path import CriticalPath, critical_path
from lineage_utils.lineage.importance import Priorities, consumer_nodes, prioritise
from lineage_utils.lineage.reach import downstream_reach
from lineage_utils.lineage.runtimes import execution_times
from lineage_utils.lineage.graph import build_lineage, read_lineage, to_node_link
from lineage_utils.lineage.orphans import Orphan, Protection, decide, keepers_in, model_files, orphans_in, young_in
from lineage_utils.lineage.query_refs import relations_from_nodes, resolution_rate, resolve_query_refs
from lineage_utils.lineage.staleness import StaleReport, StalenessRules, find_stale_reports, stale_reports_in
from lineage_utils.params import Params, load_params
from lineage_utils.publish import trends, views
from lineage_utils.publish.slack import SlackDelivery, SlackSummary, build_message, deliver
from lineage_utils.records import records_frame
from lineage_utils.run_folder import LAB_RUN, STAGES, Run

logger = logging.getLogger(__name__)

__all__ = ["RUNNERS", "STAGES", "cleanup", "crawl", "load_crawl_status", "load_graph", "merge", "notify", "open_run",
           "rank"]


def open_run(params_path: str, run_dir: str = "", stage: str = "01_crawl") -> Run:
    """The run a notebook works in; without a run_dir, the interactive run ``runs/lab``.

    Every stage before ``stage`` whose outputs are missing or were made under other
    params is run first, and so is every stage after it; ``run.reran`` says which and
    why (the notebook shows it).
    """
    if stage not in STAGES:
        raise ChainError(f"open_run: unknown stage {stage!r} (the chain: {', '.join(STAGES)})")
    params = load_params(params_path)
    views.configure_display()
    folder = Path(run_dir) if run_dir else params.runs_dir / LAB_RUN
    run = Run(run_dir=folder.resolve(), params=params)
    run.data_dir.mkdir(parents=True, exist_ok=True)
    reran: list[tuple[str, str]] = []
    for earlier in STAGES[: STAGES.index(stage)]:
        why = run.outdated(earlier)
        if why is None and reran:
            why = f"{reran[-1][0]} was re-run before it"
        if why is not None:
            logger.info("%s: %s; running it first", earlier, why)
            RUNNERS[earlier](run)
            reran.append((earlier, why))
    return replace(run, reran=tuple(reran))


# -- 01 crawl ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CrawlResult:
    counts: pd.DataFrame
    status: CrawlStatus
    built_dbt: bool


def _read_bi(run: Run) -> tuple[dict, CrawlStatus]:
    params = run.params
    if params["bi.source"] == "snapshot":
        snapshot_dir = params.path("bi.snapshot_dir")
        if snapshot_dir is None:
            raise ArtifactError("params key 'bi.snapshot_dir' is empty")
        return bi_snapshot.read_snapshot(snapshot_dir)  # completeness from the layout, not assumed
    from lineage_utils.bi import mode  # noqa: F401 - registers the Mode adapter; HTTP only for a live crawl
    from lineage_utils.bi.adapter import adapter_for

    bundle, status = adapter_for(params).crawl(full=params["bi.full_crawl"], progress=True)
    return bundle, replace(status, origin=f"{params['bi.base_url']} workspace {params['bi.workspace']}")


def _with_dbt_lineage(status: CrawlStatus, project: dbt_artifacts.DbtProject) -> CrawlStatus:
    """A ``depends_on`` naming a missing node makes the crawl incomplete; a cycle is a warning naming its nodes."""
    missing = tuple(CrawlError(target=node, reason=f"depends_on names {dep}, which manifest.json does not have: "
                               "lineage through it is unknown", status=None)
                    for node, dep in project.missing_dependencies)
    cycles = tuple(CrawlError(target=cycle[0], reason=f"dbt dependency cycle among {len(cycle)} nodes: "
                              + ", ".join(cycle), status=None) for cycle in project.cycles)
    if not missing and not cycles:
        return status
    return replace(status, complete=status.complete and not missing, missing=status.missing + missing,
                   warnings=status.warnings + cycles)


def crawl(run: Run) -> CrawlResult:
    params = run.params
    built = False
    if params["dbt.build"]:
        built = dbt_build.ensure_built(params.path("dbt.project_dir"), params.path("dbt.target_dir"))
    project = dbt_artifacts.load_project(params.path("dbt.target_dir") or Path(""))
    bundle, status = _read_bi(run)
    status = _with_dbt_lineage(status, project)
    snapshot = bi_snapshot.parse_bundle(bundle, origin=status.origin)
    nodes = dbt_nodes_frame(project)
    run.write_json("bi_snapshot", bundle)
    run.write_frame("reports", reports_frame(snapshot))
    run.write_frame("queries", queries_frame(snapshot))
    run.write_frame("dbt_nodes", nodes)
    run.write_frame("dbt_edges", dbt_edges_frame(project))
    run.write_frame("dbt_tests", dbt_tests_frame(project.tests.values()))
    run.write_frame("dbt_docs", dbt_docs_frame(load_docs(params.path("dbt.target_dir") or Path("")).values()))
    run.write_json("crawl_status", status.to_dict())
    kinds = nodes["kind"].value_counts()
    counts = {
        "models": int(kinds.get("model", 0)), "sources": int(kinds.get("source", 0)),
        "seeds": int(kinds.get("seed", 0)), "snapshots": int(kinds.get("snapshot", 0)),
        "exposures": int(kinds.get("exposure", 0)), "semantic_models": int(kinds.get("semantic_model", 0)),
        "metrics": int(kinds.get("metric", 0)), "saved_queries": int(kinds.get("saved_query", 0)),
        "spaces": len(snapshot.spaces),
        "reports": len(snapshot.reports), "queries": len(snapshot.queries),
        "data_sources": len(snapshot.data_sources),
    }
    run.update_summary(**counts, crawl_complete=status.complete, workspace=snapshot.workspace,
                       project=project.project_name, dbt_schema_version=project.schema_version,
                       dbt_generated_at=project.generated_at)
    table = pd.DataFrame(sorted(counts.items()), columns=["what", "count"])
    return CrawlResult(counts=table, status=status, built_dbt=built)


def load_snapshot(run: Run) -> bi_snapshot.BiSnapshot:
    return bi_snapshot.parse_bundle(run.read_json("bi_snapshot"), origin=str(run.path("bi_snapshot")))


def load_crawl_status(run: Run) -> CrawlStatus:
    return CrawlStatus.from_dict(run.read_json("crawl_status"), origin=str(run.path("crawl_status")))


# -- 02 merge ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MergeResult:
    refs: pd.DataFrame
    graph: nx.DiGraph
    stale: list[StaleReport]


def merge(run: Run) -> MergeResult:
    """Resolve every query's references, build the graph, decide staleness and orphans."""
    params = run.params
    snapshot = load_snapshot(run)
    nodes = run.read_frame("dbt_nodes")
    refs = resolve_query_refs(
        snapshot.queries, snapshot.data_sources, snapshot.definitions, relations_from_nodes(nodes),
        params.data_source_config, params["sql.dialects"], params.path("sql.cache_dir"), params["sql.workers"],
    )
    stale = find_stale_reports(snapshot.reports.values(), StalenessRules.from_params(params))
    graph = build_lineage(nodes, run.read_frame("dbt_edges"), snapshot.reports.values(), snapshot.queries,
                          stale, refs)
    project = (run.read_json("summary") if run.exists("summary") else {}).get("project")
    files = model_files(graph, project)  # the project's own models, not those of installed packages
    ages = file_ages(params.path("dbt.project_dir"), files.values())  # one git log pass
    decide(graph, Protection.from_params(params, project), {node: ages[path] for node, path in files.items()}, params.now())
    graph.graph.update(workspace=snapshot.workspace, run_id=run.run_id)
    run.write_frame("query_refs", refs)
    run.write_json("lineage", to_node_link(graph))
    run.update_summary(references=int(refs["status"].notna().sum()), ref_resolution_rate=round(resolution_rate(refs), 4),
                       ambiguous_references=int((refs["status"] == "ambiguous").sum()),
                       unparsed_queries=int((refs["status"] == "unparsed").sum()))
    return MergeResult(refs=refs, graph=graph, stale=stale)


def load_graph(run: Run) -> nx.DiGraph:
    return read_lineage(run)


# -- 03 rank -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RankResult:
    centrality: pd.DataFrame  # every node, most important first: the six measures, percentiles, importance
    priorities: pd.DataFrame  # models that ran, highest priority first
    priority: Priorities | None = None  # the table with its formula, runtime source and why it may be empty
    critical: CriticalPath | None = None  # the longest chain by runtime through the latest dbt invocation
    history: Recorded | None = None  # the run-history store after this run was recorded, and its trends
    graph: nx.DiGraph | None = None  # the lineage graph ranked (for the focused views)


def _headline(graph: nx.DiGraph, summary: dict) -> dict[str, int]:
    """The counts each run records in the history store (and the Slack summary compares)."""
    kinds = dict(graph.nodes(data="kind"))
    return {"models": int(summary.get("models", sum(k == "model" for k in kinds.values()))),
            "orphans": len(orphans_in(graph)), "stale_reports": len(stale_reports_in(graph)),
            "reports": int(summary.get("reports", 0)), "queries": int(summary.get("queries", 0))}


CLEANUP_LOOKBACK = timedelta(days=365)
"""How far back the first read of merged cleanup pull requests goes (later reads: from the newest stored)."""


def _merged_cleanups(params: Params) -> tuple[list[CleanupMerge], list[str]]:
    """Model-removal PRs of ours merged since the newest the store knows, for the trend charts' marks."""
    if not params["github.repo"]:
        return [], []
    known = cleanup_merges(params.history_path)
    known = known[~known["demo"].fillna(False).astype(bool)]
    since = (pd.Timestamp(known["merged_at"].max()).to_pydatetime() if len(known)
             else utc_naive(params.now().isoformat()) - CLEANUP_LOOKBACK)
    merged, note = read_merged_cleanups(params, since)
    return [CleanupMerge(f"#{m.number}", m.title, m.merged_at) for m in merged], [note] if note else []


def rank(run: Run) -> RankResult:
    params = run.params
    graph = load_graph(run)
    runtimes = execution_times(graph)  # the latest dbt run; the store's medians are shown beside it
    reach = downstream_reach(graph, consumer_nodes(graph), runtimes.seconds)  # one pass for both
    table = rank_nodes(graph, params["centrality.backend"], weights=params["centrality.weights"],
                       betweenness_samples=params["centrality.betweenness_samples"], seed=params["centrality.seed"],
                       reach=reach)
    priority = prioritise(table, graph, reach=reach)
    critical = critical_path(graph)
    cleanups, notes = _merged_cleanups(params)
    recorded = record_run(params, run.run_id, _headline(graph, run.read_json("summary") if run.exists("summary")
                                                        else {}), cleanups, notes)
    run.write_frame("centrality", table)
    run.write_frame("priorities", priority.table)
    run.write_frame("trend", recorded.trends.runs)  # the run page's sparkline
    top = table[table["kind"] == "model"].head(1)
    run.update_summary(most_central_model=None if top.empty else top["name"].iloc[0],
                       critical_path_seconds=round(float(critical.total_seconds or 0.0), 3))
    return RankResult(centrality=table, priorities=priority.table, priority=priority, critical=critical,
                      history=recorded, graph=graph)


# -- 04 cleanup --------------------------------------------------------------------------
@dataclass(frozen=True)
class CleanupResult:
    stale: pd.DataFrame
    orphans: pd.DataFrame
    keepers: pd.DataFrame
    exposures_yaml: str
    exposures: list[PlannedExposure]
    actions: list[Action]
    withheld: str | None
    young: pd.DataFrame | None = None  # models kept only by the age guard (protection.min_age_days)
    exposures_file: ExposuresFile | None = None  # the generated file: content, collisions skipped, diff
    dry_run: DryRun | None = None  # gated actions, cleanup.patch (and how it was made), pr_body.md
    applied: Applied | None = None  # what cleanup.apply carried out (None: a dry run)
    graph: nx.DiGraph | None = None  # the lineage graph planned from (for the focused views)


def _keeper_frame(graph: nx.DiGraph) -> pd.DataFrame:
    rows = [(m, graph.nodes[m].get("name"), ", ".join(special))
            for m, keepers in keepers_in(graph).items()
            if (special := [k for k in keepers if k != "active_report"])]
    return pd.DataFrame(rows, columns=["unique_id", "name", "kept_alive_only_by"])


def _young_frame(graph: nx.DiGraph) -> pd.DataFrame:
    rows = [(m, graph.nodes[m].get("name"), why, graph.nodes[m].get("age"), graph.nodes[m].get("path"))
            for m, why in young_in(graph).items()]
    return pd.DataFrame(rows, columns=["unique_id", "name", "kept_because", "age", "path"])


def cleanup(run: Run) -> CleanupResult:
    """Plan from the stored decisions: archive stale reports, delete orphans, write exposures."""
    params = run.params
    graph = load_graph(run)
    snapshot = load_snapshot(run)
    status = load_crawl_status(run)
    stale = stale_reports_in(graph)
    orphans = orphans_in(graph)
    users = {u.username: {"name": u.name, "email": u.email} for u in snapshot.users.values()}
    planned = plan_exposures(graph, users, snapshot.workspace,
                             lambda token: report_url(params["bi.base_url"], snapshot.workspace, token), params.now())
    nodes = run.read_frame("dbt_nodes")
    project = (run.read_json("summary") if run.exists("summary") else {}).get("project")
    exposures_path = params["exposures.path"]  # hand-written exposures (elsewhere) are never touched
    exposures_file = plan_exposures_file(
        graph, planned, read_current_file(params.path("dbt.project_dir"), exposures_path),
        hand_written_exposures(manifest_exposures(nodes), exposures_path, project), exposures_path)
    exposures_yaml = exposures_file.content
    tests = read_dbt_tests(run.read_frame("dbt_tests"))  # a test that names a deleted model goes too
    semantic = read_semantic_nodes(nodes)  # and a semantic-layer node downstream of one
    stale_frame = records_frame(stale, StaleReport)
    orphan_frame = records_frame(orphans, Orphan)
    run.write_frame("stale_reports", stale_frame)
    run.write_frame("orphan_models", orphan_frame)
    run.write_text("exposures", exposures_yaml)
    run.write_text("exposures_diff", exposures_file.diff)
    docs = read_dbt_docs(run.read_frame("dbt_docs"))  # a docs block only deleted models use goes too
    dry = plan_dry_run(run, stale, orphans, status, snapshot, nodes, tests, properties_paths(nodes), semantic, project,
                       exposures_file, docs)
    actions, withheld = dry.actions, dry.withheld  # gated, journaled in actions.jsonl; cleanup.patch, pr_body.md
    applied = None
    if params["cleanup.apply"] and dry.removal is not None:  # the kinds of cleanup.apply_kinds, journaled
        applied = apply_cleanup(run, dry.removal, exposures_file, dry.report_calls)
    run.update_summary(stale_reports=len(stale), orphan_models=len(orphans),
                       exposures_generated=len(exposures_file.exposures), exposures_skipped=len(exposures_file.skipped),
                       **{f"exposures_{kind}": sum(c.change == kind for c in exposures_file.changes)
                          for kind in ("added", "changed", "removed")},
                       deletions_withheld=bool(withheld),
                       **({} if applied is None else {"deletion_pr": applied.deletion_pr.status,
                                                      "exposures_pr": applied.exposures_pr.status}))
    return CleanupResult(stale=stale_frame, orphans=orphan_frame, keepers=_keeper_frame(graph),
                         exposures_yaml=exposures_yaml, exposures=list(exposures_file.exposures), actions=actions,
                         withheld=withheld, young=_young_frame(graph), exposures_file=exposures_file, dry_run=dry,
                         applied=applied, graph=graph)


RUNNERS = {"01_crawl": crawl, "02_merge": merge, "03_rank": rank, "04_cleanup": cleanup}


# -- after the chain: the Slack summary ---------------------------------------------------
def _names(run_dir: Path | None, artifact: str) -> list[str]:
    if run_dir is None:
        return []
    other = Run(run_dir=run_dir, params=None)  # type: ignore[arg-type] - only reads a frame
    try:
        return [str(n) for n in other.read_frame(artifact)["name"]] if other.exists(artifact) else []
    except (ArtifactError, KeyError) as exc:  # an older run's schema: compare with nothing rather than fail
        logger.warning("slack summary: %s of %s not read (%s)", artifact, run_dir, exc)
        return []


def _previous_run(run: Run) -> Path | None:
    """The latest earlier run folder beside this one that got as far as 04_cleanup."""
    earlier = sorted(p for p in run.run_dir.parent.iterdir() if p.is_dir() and p.name < run.run_dir.name
                     and (p / "data" / "orphan_models.parquet").is_file())
    return earlier[-1] if earlier else None


def notify(run: Run) -> SlackDelivery:
    """Build the run's Slack summary and deliver it as ``slack.*`` says (always ``data/slack_message.json``)."""
    params = run.params
    graph = load_graph(run)
    summary = run.read_json("summary") if run.exists("summary") else {}
    counts = {**_headline(graph, summary), "exposures": int(summary.get("exposures_generated", 0))}
    runs = read_trends(params.history_path).runs
    earlier = runs[runs["run_id"] != run.run_id].sort_values(["started_at", "run_id"]) if len(runs) else runs
    previous = None if earlier.empty else {k: earlier.iloc[-1][k] for k in counts if k in earlier.columns}
    before = _previous_run(run)
    top = run.read_frame("priorities").head(5) if run.exists("priorities") else pd.DataFrame()
    message = build_message(SlackSummary(
        run_id=run.run_id, link=run_link(run), counts=counts, previous=previous,
        top_candidates=[(r.name, r.priority, r.execution_time) for r in top.itertuples()],
        new_orphans=sorted(set(_names(run.run_dir, "orphan_models")) - set(_names(before, "orphan_models"))),
        new_stale_reports=sorted(set(_names(run.run_dir, "stale_reports")) - set(_names(before, "stale_reports")))))
    history = read_trends(params.history_path)
    chart = views.png_bytes(trends.models_trend(history.models_per_day, history.cleanups))
    return deliver(message, run.data_dir, post=params["slack.post"], webhook_env=params["slack.webhook_env"],
                   token_env=params["slack.token_env"], channel=params["slack.channel"],
                   api_url=params["slack.api_url"], chart_png=chart)
