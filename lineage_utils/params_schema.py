"""The params schema: every key with its kind, default, range and help (the README's table is made from it).

Data only; ``lineage_utils.params`` validates and coerces against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["SCHEMA", "Kind", "ParamSpec"]

Kind = Literal["str", "int", "float", "bool", "path", "list", "mapping", "choice", "datetime"]


@dataclass(frozen=True)
class ParamSpec:
    key: str
    kind: Kind
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None  # numbers below are refused (int and float kinds)
    maximum: float | None = None


SCHEMA: tuple[ParamSpec, ...] = (
    ParamSpec("run.runs_dir", "path", "../runs", "Folder that receives one sub-folder per run."),
    ParamSpec("dbt.project_dir", "path", "", "The dbt project (needed to build it and, later, for the cleanup branch)."),
    ParamSpec("dbt.target_dir", "path", "", "Folder holding manifest.json and run_results.json (your project's target/)."),
    ParamSpec("dbt.build", "bool", False, "Run `dbt build` on dbt.project_dir into dbt.target_dir when the artifacts are missing or older than the project (the demo does)."),
    ParamSpec("bi.source", "choice", "snapshot", "Where BI reports come from: a snapshot folder or the live Mode API.", ("snapshot", "mode_api")),
    ParamSpec("bi.snapshot_dir", "path", "", "A Mode workspace snapshot folder (the layout of demo/mode_workspace)."),
    ParamSpec("bi.workspace", "str", "", "Mode workspace username."),
    ParamSpec("bi.base_url", "str", "https://app.mode.com", "Mode host; tests point it at a local stand-in."),
    ParamSpec("bi.token_env", "str", "MODE_API_TOKEN", "Name of the environment variable holding the Mode API token."),
    ParamSpec("bi.secret_env", "str", "MODE_API_SECRET", "Name of the environment variable holding the Mode API secret."),
    ParamSpec("bi.include_personal_spaces", "bool", True, "Crawl members' personal spaces too (`filter=all`)."),
    ParamSpec("bi.rate_limit", "float", 4.0, "Client-side limit on Mode API requests per second (Mode publishes about 4/s); 0 = no limit (stand-ins).", minimum=0),
    ParamSpec("bi.workers", "int", 8, "Concurrent Mode API requests (a thread pool), still under bi.rate_limit.", minimum=1, maximum=64),
    ParamSpec("bi.timeout", "float", 30.0, "Seconds before one Mode API request times out.", minimum=0.1),
    ParamSpec("bi.max_retries", "int", 5, "Retries of one request on 429, 5xx and connection errors before giving up.", minimum=0, maximum=100),
    ParamSpec("bi.max_retries_rate_limited", "int", 12, "Retries of one request answered 429 (rate limited): a budget of its own, larger than bi.max_retries.", minimum=0, maximum=1000),
    ParamSpec("bi.retry_after_cap", "float", 120.0, "Longest `Retry-After` (seconds) slept on; a longer one is logged as a warning and capped.", minimum=0),
    ParamSpec("bi.max_pages", "int", 10000, "Most pages one listing is followed for when it gives no `total_count`; beyond it the crawl ends incomplete.", minimum=1),
    ParamSpec("bi.full_crawl", "bool", False, "Ignore the previous crawl and fetch every report's queries again."),
    ParamSpec("bi.state_dir", "path", "../.cache/bi", "Where the previous crawl is kept for incremental crawls."),
    ParamSpec("bi.data_sources", "mapping", {}, "Per Mode data source (id or name): `dialect`, `search_path` (list of schemas), `default_database`, `warehouse` (false: not where dbt builds, every read is external)."),
    ParamSpec("sql.dialects", "mapping", {}, "Overrides of the Mode adapter -> sqlglot dialect map, e.g. {'jdbc:postgresql': 'duckdb'}."),
    ParamSpec("sql.cache_dir", "path", "../.cache/sql", "Cache of parsed queries by (SQL hash, dialect, defaults): a re-run parses only new or changed SQL."),
    ParamSpec("sql.workers", "int", 2, "Processes that parse queries when there are many (1 = in-process).", minimum=1, maximum=256),
    ParamSpec("staleness.now", "datetime", "", "The moment staleness is judged at (ISO 8601); empty means the current time."),
    ParamSpec("staleness.last_run_days", "int", 100, "A report last run more than this many days ago is stale.", minimum=0),
    ParamSpec("staleness.low_usage_runs", "int", 5, "Low usage: fewer runs than this ...", minimum=0),
    ParamSpec("staleness.low_usage_views", "int", 5, "... and fewer views than this ...", minimum=0),
    ParamSpec("staleness.low_usage_min_age_days", "int", 60, "... and created more than this many days ago.", minimum=0),
    ParamSpec("protection.tags", "list", ["keep"], "dbt tags that make a node a consumer (never an orphan)."),
    ParamSpec("protection.meta_keys", "list", ["keep"], "dbt `meta` keys whose truthy value makes a node a consumer."),
    ParamSpec("protection.access_public", "bool", True, "Models with `access: public` are consumers."),
    ParamSpec("protection.selectors", "list", [], "Protected nodes by unique_id, name or fqn glob (`marts.finance.*`)."),
    ParamSpec("protection.semantic_layer", "bool", True, "dbt metrics and saved queries are consumers: the models they need are never orphans."),
    ParamSpec("protection.min_age_days", "int", 30, "A model whose file's first git commit is younger than this is never proposed for deletion.", minimum=0),
    ParamSpec("centrality.backend", "choice", "auto", "Graph backend for the six centrality measures: igraph (C core), networkx (the reference), or auto (igraph).", ("auto", "igraph", "networkx")),
    ParamSpec("centrality.betweenness_samples", "int", 0, "Approximate betweenness from this many sampled source nodes (0: exact).", minimum=0),
    ParamSpec("centrality.seed", "int", 0, "Seed of the betweenness sampling, so an approximate ranking is repeatable.", minimum=0),
    ParamSpec("centrality.weights", "mapping", {}, "Weights of the composite importance, by measure (degree, in_degree, out_degree, closeness, betweenness, pagerank, consumers); unnamed measures weigh 1."),
    ParamSpec("history.path", "path", "", "The run-history store (DuckDB): one row per run, per dbt invocation and per node executed in it. Empty: history.duckdb in run.runs_dir."),
    ParamSpec("history.import_dir", "path", "", "A folder of archived run_results.json files (and history seeds) imported into the store by each 03_rank; what is stored already is skipped. The demo's holds 73 days of demo data."),
    ParamSpec("slack.post", "bool", False, "Post the run's summary to Slack (off: the message JSON is written to the run folder only)."),
    ParamSpec("slack.webhook_env", "str", "SLACK_WEBHOOK_URL", "Name of the environment variable holding the Slack incoming-webhook URL."),
    ParamSpec("slack.token_env", "str", "SLACK_BOT_TOKEN", "Name of the environment variable holding a Slack bot token (optional: uploads the models-per-day chart)."),
    ParamSpec("slack.channel", "str", "", "Channel id the chart is uploaded to (with a bot token)."),
    ParamSpec("slack.api_url", "str", "https://slack.com/api/", "Slack Web API base URL (a stand-in in tests)."),
    ParamSpec("cleanup.apply", "bool", False, "Carry out the actions named in cleanup.apply_kinds (push branches, open pull requests, archive or delete reports). Off = dry run."),
    ParamSpec("cleanup.allow_incomplete", "bool", False, "Propose deletions even when the crawl was incomplete."),
    ParamSpec("cleanup.apply_kinds", "list", [], "Which actions apply carries out: any of deletion_pr, exposures_pr, archive, delete_archived."),
    ParamSpec("cleanup.strategy", "choice", "auto", "Model removal: deprecate (set deprecation_date), delete, or auto (deprecate public/protected or contracted models, delete the rest).", ("auto", "deprecate", "delete")),
    ParamSpec("cleanup.deprecation_days", "int", 30, "Days from today to the deprecation_date a deprecating PR sets.", minimum=1),
    ParamSpec("cleanup.archive_grace_days", "int", 30, "Days a report must have been archived before it may be deleted (with delete_archived on).", minimum=0),
    ParamSpec("cleanup.protected_spaces", "list", [], "Mode space tokens or names whose reports are never archived or deleted."),
    ParamSpec("cleanup.include_personal_spaces", "bool", False, "Archive stale reports in members' personal spaces too."),
    ParamSpec("cleanup.max_archive_per_run", "int", 20, "Most reports one run archives; the rest wait for the next run.", minimum=0),
    ParamSpec("cleanup.max_removal_share", "float", 0.2, "Fail-safe: refuse every model removal when the proposals exceed this share of the project's models.", minimum=0, maximum=1),
    ParamSpec("exposures.path", "str", "models/metapipeline_exposures.yml", "The generated exposures file, relative to the dbt project; hand-written exposures elsewhere are never touched."),
    ParamSpec("git.repo_dir", "path", "", "The git repository holding the dbt project (empty: the repository dbt.project_dir is in)."),
    ParamSpec("git.remote", "str", "origin", "The remote cleanup branches are pushed to (never forced)."),
    ParamSpec("git.base_branch", "str", "main", "The branch cleanup branches start from and pull requests target."),
    ParamSpec("github.api_url", "str", "https://api.github.com", "GitHub REST API base URL (GitHub Enterprise: https://<host>/api/v3)."),
    ParamSpec("github.repo", "str", "", "The dbt repository on GitHub, as owner/name."),
    ParamSpec("github.token_env", "str", "GITHUB_TOKEN", "Name of the environment variable holding the GitHub token."),
    ParamSpec("explore.max_nodes", "int", 150, "Most nodes the lab explorer (lu.explore) draws at once: the nearest the focus first; it says what it left out.", minimum=10),
    ParamSpec("publish.dir", "path", "", "A folder each finished run is copied to (a web server's or a shared drive's), with an index of the runs there; empty: not copied. run_all.py --publish DIR overrides it."),
    ParamSpec("publish.base_url", "str", "", "Where run folders are published (https://...): pull requests link <base_url>/<run_id>/index.html. Empty: the run folder's path."),
)
