"""False links from data sources that are not the dbt warehouse, on real manifests.

A Mode workspace mixes the warehouse with data sources where dbt does not build: an app
database, a read replica, a second warehouse. Their tables often carry the names of dbt
models. For each real manifest this generates a workspace: most queries read the
manifest's mart models on the warehouse data source; the rest read tables of the same
names on three other data sources:

* "App DB" (Postgres, database ``app``; no params entry: Mode's database tells it apart),
* "App replica" (MySQL, no database reported; params ``warehouse: false``),
* "Staging warehouse" (the warehouse's adapter and database name, another account;
  params ``warehouse: false``),

one in ten of those queries broken (unparsed). A *false link* is a query on a
non-warehouse data source that gets any dbt candidate; a *kept link* is a warehouse query
whose model is among its candidates.

    python benchmarks/bench_false_links.py [--queries 2000] [--app-share 0.1] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lineage_utils.bi.snapshot import BiQuery, DataSource
from lineage_utils.dbt import frames
from lineage_utils.dbt.artifacts import load_manifest
from lineage_utils.lineage.query_refs import relations_from_nodes, resolve_query_refs
from lineage_utils.sql import Relation

MANIFESTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "manifests"
WAREHOUSE_ADAPTERS = {  # dbt adapter -> Mode adapter of the warehouse data source
    "bigquery": "jdbc:bigquery", "snowflake": "jdbc:snowflake", "trino": "jdbc:trino", "duckdb": "duckdb",
    "postgres": "jdbc:postgresql", "redshift": "jdbc:redshift", "databricks": "jdbc:databricks",
}
_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")
_MARTS = re.compile(r"(?:^|/)(?:data_)?marts?/")


@dataclass(frozen=True)
class Workspace:
    """A generated workspace over one manifest, with the truth of every query."""

    queries: list[BiQuery]
    data_sources: dict[str, DataSource]
    config: dict[str, dict[str, Any]]  # bi.data_sources params
    relations: list[Relation]
    truth: dict[str, str | None]  # query node id -> the model it reads on the warehouse, None: no dbt read

    def source_config(self, source_id: Any, name: str | None = None) -> dict[str, Any]:
        return self.config.get(str(source_id), {})


def _marts(nodes: pd.DataFrame) -> pd.DataFrame:
    models = nodes[(nodes["kind"] == "model") & nodes["identifier"].notna() & nodes["schema"].notna()]
    models = models[models["identifier"].map(lambda t: bool(_PLAIN.fullmatch(t)))
                    & models["schema"].map(lambda t: bool(_PLAIN.fullmatch(t)))]
    marts = models[models["path"].fillna("").str.contains(_MARTS)]
    return (marts if len(marts) >= 20 else models).sort_values("unique_id", ignore_index=True)


def generate_workspace(manifest: Path, queries: int = 2000, app_share: float = 0.1, seed: int = 0) -> Workspace:
    project = load_manifest(manifest)
    nodes = frames.dbt_nodes_frame(project)
    marts = _marts(nodes)
    database = str(marts["database"].mode().iloc[0])
    adapter = WAREHOUSE_ADAPTERS.get(project.adapter_type or "", "jdbc:postgresql")
    bigquery = adapter == "jdbc:bigquery"
    warehouse = DataSource("1", "w", "Warehouse", adapter, "default" if bigquery else database,
                           database if bigquery else "warehouse.internal")
    sources = {
        "1": warehouse,
        "2": DataSource("2", "a", "App DB", "jdbc:postgresql", "app", "app-db.internal"),
        "3": DataSource("3", "r", "App replica", "jdbc:mysql", None, "replica.internal"),
        "4": DataSource("4", "s", "Staging warehouse", adapter, warehouse.database, "staging.internal"),
    }
    config = {"1": {}, "3": {"warehouse": False}, "4": {"warehouse": False}}
    rng = random.Random(seed)
    rows = list(marts[["unique_id", "schema", "identifier"]].itertuples(index=False))
    made: list[BiQuery] = []
    truth: dict[str, str | None] = {}
    for n in range(queries):
        uid, schema, name = rng.choice(rows)
        if rng.random() >= app_share:
            source, sql, reads = "1", f"SELECT * FROM {schema}.{name} WHERE 1 = 1", uid
        else:
            source = rng.choice(["2", "3", "4"])
            sql, reads = _app_sql(rng, source, schema, name), None
        query = BiQuery(f"r{n // 4:05d}", f"q{n:05d}", f"Query {n}", f"Query {n}", sql, source, None, None)
        made.append(query)
        truth[query.node_id] = reads
    return Workspace(made, sources, config, relations_from_nodes(nodes), truth)


def _app_sql(rng: random.Random, source: str, schema: str, name: str) -> str:
    if rng.random() < 0.1:  # a broken query: unparsed, its text still names the table
        return f"SELECT id, status FROM {name} WHERE (status = 'open'"
    if source == "2":
        return rng.choice([f"SELECT * FROM {name} WHERE id > 10", f"SELECT count(*) FROM public.{name}"])
    if source == "3":
        return rng.choice([f"SELECT * FROM {name} LIMIT 100", f"SELECT * FROM app.{name}"])
    return f"SELECT * FROM {schema}.{name}"


def measure(workspace: Workspace, cache_dir: Path | None = None) -> dict[str, int]:
    refs = resolve_query_refs(workspace.queries, workspace.data_sources, {}, workspace.relations,
                              workspace.source_config, {}, cache_dir)
    linked: dict[str, set[str]] = {}
    for row in refs[refs["status"].notna()].itertuples():
        linked.setdefault(row.query_node_id, set()).update(row.candidates)
    app = [q for q, uid in workspace.truth.items() if uid is None]
    warehouse = {q: uid for q, uid in workspace.truth.items() if uid is not None}
    return {
        "queries": len(workspace.truth),
        "app_queries": len(app),
        "false_link_queries": sum(1 for q in app if linked.get(q)),
        "warehouse_queries": len(warehouse),
        "kept_links": sum(1 for q, uid in warehouse.items() if uid in linked.get(q, ())),
    }


def manifests() -> Iterator[Path]:
    yield from sorted(MANIFESTS.glob("*/manifest.json.gz"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--app-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    found = list(manifests())
    if not found:
        print(f"no manifests under {MANIFESTS}: nothing to measure")
        return 0
    total = {"queries": 0, "false_link_queries": 0}
    print(f"{'manifest':24} {'queries':>7} {'app':>5} {'false links':>11} {'rate':>6} {'kept links':>14}")
    for path in found:
        figures = measure(generate_workspace(path, args.queries, args.app_share, args.seed))
        total["queries"] += figures["queries"]
        total["false_link_queries"] += figures["false_link_queries"]
        print(f"{path.parent.name:24} {figures['queries']:7d} {figures['app_queries']:5d} "
              f"{figures['false_link_queries']:11d} {figures['false_link_queries'] / figures['queries']:6.1%} "
              f"{figures['kept_links']:6d} / {figures['warehouse_queries']:5d}")
    print(f"{'all':24} {total['queries']:7d} {'':5} {total['false_link_queries']:11d} "
          f"{total['false_link_queries'] / total['queries']:6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
