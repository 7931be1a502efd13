"""Benchmark: crawl a generated workspace of 5,000 reports / 20,000 queries from the stand-in.

    python benchmarks/bench_mode_crawl.py [--reports 5000 --queries 20000]

The stand-in adds 20 ms of latency to every request and allows 20 requests/s per user;
the client's rate limit is the server's (20/s), with 8 workers. Prints the full crawl's
wall time, requests, requests/s and the ratio to the rate limit's lower bound
(requests / 20 s; target <= 1.10), then an incremental crawl after 1% of the reports
change (target: <= 5% of the full crawl's requests). Figures, not a timed test.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generate_mode_workspace import generate_workspace  # noqa: E402

from lineage_utils.bi.mode.client import ModeClient  # noqa: E402
from lineage_utils.bi.mode.crawl import crawl_workspace  # noqa: E402
from lineage_utils.testing import ModeStandIn  # noqa: E402

TOKEN, SECRET = "bench-token", "bench-secret"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=20000)
    parser.add_argument("--spaces", type=int, default=10)
    parser.add_argument("--rate", type=float, default=20.0, help="server limit = client limit, requests/s")
    parser.add_argument("--latency", type=float, default=0.020)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--changed", type=float, default=0.01, help="share of reports changed before re-crawl")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_mode_") as tmp:
        folder = generate_workspace(Path(tmp) / "workspace", reports=args.reports, queries=args.queries,
                                    spaces=args.spaces)
        with ModeStandIn(folder, token=TOKEN, secret=SECRET, latency=args.latency,
                         rate_limit=args.rate) as standin:
            def client() -> ModeClient:
                return ModeClient(standin.base_url, standin.workspace, TOKEN, SECRET, rate_limit=args.rate,
                                  pool_size=args.workers)

            started = time.monotonic()
            bundle, full = crawl_workspace(client(), None, workers=args.workers, progress=False)
            wall = time.monotonic() - started
            queries = sum(len(q) for q in bundle["queries"].values())
            lower = full.requests_made / args.rate
            print(f"\nfull crawl: {full.reports} reports, {queries} queries, complete={full.complete}")
            print(f"  wall time        {wall:8.1f} s")
            print(f"  requests made    {full.requests_made:8d}  (retries {full.retries}, "
                  f"429s served {_count(standin, 429)})")
            print(f"  requests/s       {full.requests_made / wall:8.2f}  (limit {args.rate:g})")
            print(f"  lower bound      {lower:8.1f} s  (requests / {args.rate:g})")
            print(f"  wall/lower bound {wall / lower:8.3f}  (target <= 1.10: {'met' if wall / lower <= 1.10 else 'MISSED'})")

            changed = random.Random(1).sample(sorted(standin.reports), max(1, int(len(standin.reports) * args.changed)))
            for token in changed:
                standin.touch_report(token)
            started = time.monotonic()
            _, incremental = crawl_workspace(client(), bundle, workers=args.workers)
            wall2 = time.monotonic() - started
            share = incremental.requests_made / full.requests_made
            print(f"incremental crawl after {len(changed)} reports changed: complete={incremental.complete}")
            print(f"  wall time        {wall2:8.1f} s")
            print(f"  requests made    {incremental.requests_made:8d}  (saved {incremental.requests_saved}, "
                  f"queries fetched for {incremental.reports_fetched} reports)")
            print(f"  share of full    {share:8.2%}  (target <= 5%: {'met' if share <= 0.05 else 'MISSED'})")


def _count(standin: ModeStandIn, status: int) -> int:
    return sum(1 for r in standin.log if r.status == status)


if __name__ == "__main__":
    main()
