"""Hypothesis strategies: small holistic lineage graphs with 02_merge's decisions stored."""

from __future__ import annotations

import networkx as nx
from hypothesis import strategies as st

from lineage_utils.lineage.orphans import Protection, decide


@st.composite
def lineage_graphs(draw, max_models: int = 30) -> nx.DiGraph:
    """Models (a DAG), BI queries reading them, reports (active or not), an exposure; decided; with runtimes."""
    n = draw(st.integers(min_value=2, max_value=max_models))
    graph = nx.DiGraph()
    models = [f"model.p.m{i:02d}" for i in range(n)]
    for i, model in enumerate(models):
        runtime = draw(st.one_of(st.none(), st.floats(min_value=0, max_value=100, allow_nan=False)))
        graph.add_node(model, kind="model", name=f"m{i:02d}", execution_time=runtime, materialized="table")
        for parent in draw(st.lists(st.sampled_from(models[:i]), unique=True, max_size=3)) if i else ():
            graph.add_edge(parent, model, provenance="dbt")
    for r in range(draw(st.integers(min_value=0, max_value=8))):
        report = f"bi_report:r{r}"
        graph.add_node(report, kind="bi_report", name=f"report {r}", active=draw(st.booleans()))
        for q in range(draw(st.integers(min_value=1, max_value=3))):
            query = f"bi_query:r{r}q{q}"
            graph.add_node(query, kind="bi_query", name=query)
            graph.add_edge(query, report, provenance="bi")
            for model in draw(st.lists(st.sampled_from(models), unique=True, min_size=1, max_size=3)):
                graph.add_edge(model, query, provenance="sql", refs=[model], status="resolved", conditional=False)
    if draw(st.booleans()):
        graph.add_node("exposure.p.board", kind="exposure", name="board")
        graph.add_edge(draw(st.sampled_from(models)), "exposure.p.board", provenance="exposure")
    decide(graph, Protection(min_age_days=0))
    return graph
