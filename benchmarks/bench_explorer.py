"""The explorer at scale: finding a node and building a focused view on an ~80k-node lineage graph.

    python benchmarks/bench_explorer.py [--models 11000 --queries 50000 --runs 5]

Prints median (min-max) seconds of ``find_nodes`` and of ``focused`` (two hops up, three
down, 150 nodes at most) around a busy staging model, a mart and an orphan, and six hops
down from the busiest source (thousands of nodes in reach, cut to 150), and with the lab
extra the explorer's whole redraw (the view and its page, every drawn node's details and
why-orphan included). Target: under 1 s. Figures, not a timed test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_rank import timed  # noqa: E402
from generate_lineage_graph import generate_lineage  # noqa: E402

from lineage_utils.publish.explorer import find_nodes, focused  # noqa: E402

try:  # the lab extra: the widget's whole redraw (the view, then its page with every node's details)
    from lineage_utils.publish.explorer_page import explorer_page  # noqa: E402
    import pyvis  # noqa: F401, E402
except ImportError:  # pragma: no cover - without the lab extra only the view is timed
    explorer_page = None

TARGET = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=11_000)
    parser.add_argument("--queries", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    graph = generate_lineage(models=args.models, queries=args.queries)
    print(f"graph: {graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges")
    orphan = next(n for n, o in graph.nodes(data="orphan") if o)
    source = max((n for n, k in graph.nodes(data="kind") if k == "source"), key=graph.out_degree)
    focuses = {"busy staging model": (find_nodes(graph, "stg_0", 1)[0], 3),
               "mart": (find_nodes(graph, "fct_0", 1)[0], 3),
               "orphan": (orphan, 3), "busiest source, 6 down": (source, 6)}
    times = timed(lambda: find_nodes(graph, "fct_1"), args.runs)
    print(f"  find_nodes('fct_1')                 median {statistics.median(times):.3f} s "
          f"(min {min(times):.3f}, max {max(times):.3f})")
    for label, (node, down) in focuses.items():
        times = timed(lambda: focused(graph, [node], up=2, down=down, max_nodes=150), args.runs)
        view = focused(graph, [node], up=2, down=down, max_nodes=150)
        verdict = "met" if max(times) < TARGET else "MISSED"
        print(f"  focused view, {label:<20} median {statistics.median(times):.3f} s (min {min(times):.3f}, "
              f"max {max(times):.3f}), {view.graph.number_of_nodes()} nodes, left out "
              f"{sum(view.left_out.values()):,}  target < {TARGET:.0f} s: {verdict}")
        if explorer_page is not None:
            times = timed(lambda: explorer_page(focused(graph, [node], up=2, down=down, max_nodes=150)), args.runs)
            verdict = "met" if max(times) < TARGET else "MISSED"
            print(f"    + its explorer page (details of every node)  median {statistics.median(times):.3f} s "
                  f"(min {min(times):.3f}, max {max(times):.3f})  target < {TARGET:.0f} s: {verdict}")


if __name__ == "__main__":
    main()
