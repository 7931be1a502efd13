"""03_rank at scale: centrality, importance, priority and critical path on an ~80k-node lineage graph.

    python benchmarks/bench_rank.py [--models 11000 --queries 50000 --runs 5 --nx-nodes 10000
                                     --rustworkx-runs 5 --old]

The graph (``generate_lineage_graph``) has the shape of an 11,000-model project read by
50,000 BI queries: ~81k nodes, ~163k edges. Prints, over ``--runs`` runs each, median
(min-max) seconds of: the six measures exact together on igraph (target < 2 s, the whole
``compute_centrality`` call, table included), ``rank_nodes`` (six + composite importance),
``prioritise`` (the one reach pass, priority table) and ``critical_path``. Then, in the
same process, the networkx ratio on a ~10k-node graph of the same shape, and rustworkx's
closeness + betweenness against igraph's when rustworkx is importable (its runs are
listed one by one: a bimodal slow mode shows there). ``--old`` also times the old
priority (``nx.descendants`` twice per model) once. Figures, not a timed test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import networkx as nx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generate_lineage_graph import generate_lineage  # noqa: E402

from lineage_utils.lineage.centrality import compute_centrality, rank_nodes  # noqa: E402
from lineage_utils.lineage.critical_path import critical_path  # noqa: E402
from lineage_utils.lineage.igraph_view import to_igraph  # noqa: E402
from lineage_utils.lineage.importance import prioritise  # noqa: E402

TARGET_SIX = 2.0
TARGET_STAGE = 10.0


def _schema_complete(graph: nx.DiGraph) -> nx.DiGraph:
    """The generated graph with every attribute lineage.json's schema wants (absent ones None, extras dropped)."""
    from lineage_utils.lineage.schema import EDGE_ATTRS, LINEAGE_SCHEMA_VERSION, NODE_ATTRS

    out = nx.DiGraph(lineage_schema=LINEAGE_SCHEMA_VERSION)
    for node, attrs in graph.nodes(data=True):
        out.add_node(node, **{k: attrs.get(k) for k in NODE_ATTRS[attrs["kind"]]})
    for u, v, attrs in graph.edges(data=True):
        out.add_edge(u, v, **{k: attrs.get(k) for k in EDGE_ATTRS[attrs.get("provenance", "dbt")]})
    return out


def whole_stage(graph: nx.DiGraph) -> Callable[[], object]:
    """03_rank as the notebook runs it, on a run folder holding ``graph`` as its lineage.json."""
    import tempfile

    from lineage_utils import stages
    from lineage_utils.lineage.graph import to_node_link
    from lineage_utils.params import load_params
    from lineage_utils.publish import rank_views
    from lineage_utils.run_folder import Run

    folder = Path(tempfile.mkdtemp(prefix="bench-rank-"))
    params = load_params(Path(__file__).resolve().parents[1] / "params" / "default.yaml",
                         [f"run.runs_dir={folder}", "history.import_dir=", f"dbt.target_dir={folder / 'none'}"])
    run = Run(run_dir=folder / "bench", params=params)
    run.data_dir.mkdir(parents=True)
    graph = _schema_complete(graph)
    run.write_json("lineage", to_node_link(graph))
    run.update_summary(models=sum(1 for _, k in graph.nodes(data="kind") if k == "model"))
    import pandas as pd
    run.write_frame("reports", pd.DataFrame({"archived": [], "type": [], "last_run_at": [], "created_at": []}))

    def call() -> object:
        result = stages.rank(run)
        rank_views.priority_chart(result)
        rank_views.trend_charts(result, run)
        return result
    return call


def timed(call: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def show(label: str, times: list[float], target: float | None = None) -> None:
    verdict = "" if target is None else f"  target < {target:.1f} s: {'met' if max(times) < target else 'MISSED'}"
    print(f"  {label:<44} median {statistics.median(times):7.3f} s  (min {min(times):.3f}, max {max(times):.3f},"
          f" n={len(times)}){verdict}")


def old_priority(graph: nx.DiGraph) -> None:
    """What 03_rank did before: a networkx walk per model, twice."""
    for node, kind in graph.nodes(data="kind"):
        if kind == "model":
            len(nx.descendants(graph, node))
            sum(graph.nodes[d].get("kind") == "bi_report" for d in nx.descendants(graph, node))


def rustworkx_pair(graph: nx.DiGraph) -> Callable[[], object]:
    import rustworkx as rx

    order = list(graph.nodes)
    index = {n: i for i, n in enumerate(order)}
    rgraph = rx.PyDiGraph()
    rgraph.add_nodes_from(order)
    rgraph.add_edges_from_no_data([(index[u], index[v]) for u, v in graph.edges])
    return lambda: (rx.digraph_closeness_centrality(rgraph, wf_improved=True),
                    rx.digraph_betweenness_centrality(rgraph, normalized=True))


def igraph_pair(graph: nx.DiGraph) -> Callable[[], object]:
    view = to_igraph(graph)
    n = view.igraph.vcount()
    return lambda: (view.igraph.closeness(mode="in"), view.igraph.neighborhood_size(order=n, mode="in"),
                    view.igraph.betweenness(directed=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=11_000)
    parser.add_argument("--queries", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--nx-nodes", type=int, default=10_000, help="size of the graph for the networkx ratio")
    parser.add_argument("--nx-runs", type=int, default=1, help="networkx takes minutes at 10k nodes")
    parser.add_argument("--rustworkx-runs", type=int, default=5, help="0: skip rustworkx")
    parser.add_argument("--old", action="store_true", help="also time the old per-model walk once")
    args = parser.parse_args()

    started = time.perf_counter()
    graph = generate_lineage(models=args.models, queries=args.queries)
    orphans = sum(1 for _, o in graph.nodes(data="orphan") if o)
    print(f"graph: {args.models} models, {args.queries} queries -> {graph.number_of_nodes()} nodes, "
          f"{graph.number_of_edges()} edges, {orphans} orphan models (generated in "
          f"{time.perf_counter() - started:.1f} s)")
    print(f"\n{args.runs} runs each, {graph.number_of_nodes()} nodes:")
    show("six measures exact, igraph (compute_centrality)", timed(lambda: compute_centrality(graph, "igraph"),
                                                                  args.runs), TARGET_SIX)
    show("six measures, betweenness from 1,000 samples", timed(
        lambda: compute_centrality(graph, "igraph", betweenness_samples=1000, seed=0), args.runs))
    show("rank_nodes (six + composite importance)", timed(lambda: rank_nodes(graph), args.runs))
    ranked = rank_nodes(graph)
    show("prioritise (one reach pass + priority table)", timed(lambda: prioritise(ranked, graph), args.runs))
    show("critical_path", timed(lambda: critical_path(graph), args.runs))
    if args.old:
        show("old priority: nx.descendants twice per model", timed(lambda: old_priority(graph), 1))
    show("whole 03_rank: load lineage.json, rank, priority, critical path, history append, charts",
         timed(whole_stage(graph), args.runs), TARGET_STAGE)

    small = generate_lineage(models=round(args.models * args.nx_nodes / graph.number_of_nodes()),
                             queries=round(args.queries * args.nx_nodes / graph.number_of_nodes()), seed=1)
    print(f"\nnetworkx ratio, {small.number_of_nodes()} nodes, {small.number_of_edges()} edges:")
    ig_small = timed(lambda: compute_centrality(small, "igraph"), args.runs)
    nx_small = timed(lambda: compute_centrality(small, "networkx"), args.nx_runs)
    show("six measures, igraph", ig_small)
    show("six measures, networkx", nx_small)
    print(f"  networkx / igraph (medians): {statistics.median(nx_small) / statistics.median(ig_small):.0f}x")

    if args.rustworkx_runs:
        try:
            rx_pair = rustworkx_pair(graph)
        except ImportError:
            print("\nrustworkx is not installed: not compared")
            return
        print(f"\nclosen. + betweenness, {graph.number_of_nodes()} nodes, run by run:")
        ig_times = timed(igraph_pair(graph), args.rustworkx_runs)
        rx_times = timed(rx_pair, args.rustworkx_runs)
        print("  igraph    " + ", ".join(f"{t:.2f}" for t in ig_times) + " s")
        print("  rustworkx " + ", ".join(f"{t:.2f}" for t in rx_times) + " s")
        show("igraph", ig_times)
        show("rustworkx", rx_times)
        spread = max(rx_times) / min(rx_times)
        print(f"  rustworkx / igraph (medians): {statistics.median(rx_times) / statistics.median(ig_times):.1f}x; "
              f"rustworkx max/min {spread:.1f}x{'  <- bimodal' if spread > 3 else ''}")


if __name__ == "__main__":
    main()
