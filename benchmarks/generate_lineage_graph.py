"""Generate a holistic lineage graph of any size, deterministically (no dbt, no BI API).

    from generate_lineage_graph import generate_lineage
    graph = generate_lineage(models=11_000, queries=50_000)   # ~81k nodes

Shaped like a big dbt project read by a BI tool: sources; staging models reading one or
two sources; intermediate models reading staging and earlier intermediate ones; marts
reading intermediate and staging; a few exposures and metrics on the marts; BI queries
(80 % on marts) in reports, about 2.6 queries a report, a third of the reports stale or
archived. Runtimes are log-normal (median ~2 s, a long tail). 02_merge's decisions
(``consumer``, ``orphan``) are stored by ``lineage.orphans.decide``.
"""

from __future__ import annotations

import random

import networkx as nx

from lineage_utils.lineage.orphans import Protection, decide


def generate_lineage(models: int = 11_000, queries: int = 50_000, seed: int = 0,
                     decided: bool = True) -> nx.DiGraph:
    rng = random.Random(seed)
    graph = nx.DiGraph()
    sources = [f"source.bench.raw.t{i}" for i in range(max(1, models // 11))]
    for node in sources:
        graph.add_node(node, kind="source", name=node.rsplit(".", 1)[-1])
    staging = [f"model.bench.stg_{i}" for i in range(models * 3 // 11)]
    intermediate = [f"model.bench.int_{i}" for i in range(models * 4 // 11)]
    marts = [f"model.bench.fct_{i}" for i in range(models - len(staging) - len(intermediate))]

    def add_model(node: str, parents: list[str]) -> None:
        graph.add_node(node, kind="model", name=node.rsplit(".", 1)[-1], materialized=rng.choice(
            ("view", "table", "table", "incremental")), execution_time=round(rng.lognormvariate(0.7, 1.1), 3))
        for parent in set(parents):
            graph.add_edge(parent, node, provenance="dbt")

    for node in staging:
        add_model(node, rng.sample(sources, rng.choice((1, 1, 1, 2))))
    for i, node in enumerate(intermediate):
        pool = staging if i < 50 else staging + intermediate[:i]
        add_model(node, [rng.choice(pool) for _ in range(rng.randint(1, 4))])
    for node in marts:
        add_model(node, [rng.choice(intermediate if rng.random() < 0.8 else staging) for _ in range(rng.randint(1, 5))])
    for i in range(max(1, models // 200)):
        exposure = f"exposure.bench.dashboard_{i}"
        graph.add_node(exposure, kind="exposure", name=f"dashboard_{i}")
        for mart in rng.sample(marts, 3):
            graph.add_edge(mart, exposure, provenance="exposure")
    reports = [f"bi_report:r{i}" for i in range(max(1, round(queries / 2.6)))]
    for i, node in enumerate(reports):
        state = rng.random()
        graph.add_node(node, kind="bi_report", name=f"report {i}", token=f"r{i}", archived=state > 0.9,
                       stale=0.66 < state <= 0.9, active=state <= 0.66)
    for i in range(queries):
        query, report = f"bi_query:q{i}", reports[i] if i < len(reports) else rng.choice(reports)
        graph.add_node(query, kind="bi_query", name=f"query {i}", token=f"q{i}", report_token=report.split(":")[1])
        graph.add_edge(query, report, provenance="bi")
        for _ in range(rng.choice((1, 1, 2, 3))):
            model = rng.choice(marts if rng.random() < 0.8 else intermediate)
            graph.add_edge(model, query, provenance="sql", refs=[model], status="resolved", conditional=False)
    if decided:
        decide(graph, Protection(min_age_days=0))
    return graph


if __name__ == "__main__":
    built = generate_lineage()
    print(f"{built.number_of_nodes()} nodes, {built.number_of_edges()} edges, "
          f"{sum(1 for _, o in built.nodes(data='orphan') if o)} orphan models")
