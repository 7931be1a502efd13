"""The published pages at L: the whole chain on a real 2,374-model manifest and a 5,000-report workspace.

    python benchmarks/bench_pages.py [--reports 5000 --queries 20000 --read-share 0.3]

The dbt side is spellbook-daily's manifest from ../shared/data (2,374 models, 9,805
sources); the BI side is a generated Mode workspace whose queries read a share of its
models (the rest become orphans). Runs the real chain (papermill kernels, nbconvert)
with ``run_chain`` and prints the size of every published page, the largest first.
Target: ``04_cleanup.html`` under 1.5 MB. Figures, not a timed test.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generate_mode_workspace import generate_workspace  # noqa: E402

from lineage_utils.runner import run_chain  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO.parent / "shared" / "data" / "manifests" / "spellbook-daily" / "manifest.json.gz"
TARGET_BYTES = 1.5e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=20000)
    parser.add_argument("--read-share", type=float, default=0.3, help="share of the models some query reads")
    parser.add_argument("--keep", type=Path, help="leave the run here (default: a temporary folder)")
    args = parser.parse_args()
    if not MANIFEST.is_file():
        print(f"skipped: {MANIFEST} is not here (../shared/data comes with CI, not with a clone)")
        return 0
    root = Path(tempfile.mkdtemp(prefix="bench-pages-")) if args.keep is None else args.keep
    target = root / "target"
    target.mkdir(parents=True, exist_ok=True)
    manifest = json.loads(gzip.decompress(MANIFEST.read_bytes()))
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    models = sorted(f"{n['schema']}.{n.get('alias') or n['name']}" for n in manifest["nodes"].values()
                    if n["resource_type"] == "model" and n["config"].get("materialized") != "ephemeral")
    read = tuple(random.Random(0).sample(models, int(len(models) * args.read_share)))
    workspace = generate_workspace(root / "workspace", reports=args.reports, queries=args.queries, tables=read)
    params = root / "params.yaml"
    params.write_text(json.dumps({
        "run": {"runs_dir": str(root / "runs")},
        "dbt": {"target_dir": str(target), "build": False},
        "bi": {"source": "snapshot", "snapshot_dir": str(workspace), "workspace": "bench-workspace",
               "data_sources": {"1001": {"dialect": "trino", "default_database": "hive"}}},
        "history": {"path": str(root / "history.duckdb")},
        "staleness": {"now": "2025-12-01T00:00:00Z"},
    }), encoding="utf-8")
    print(f"L: {len(models):,} models ({len(read):,} read by BI), {args.reports:,} reports, "
          f"{args.queries:,} queries; in {root}")
    started = time.perf_counter()
    result = run_chain(params, progress=False)
    print(f"  chain: {time.perf_counter() - started:.0f} s, run {result.run_dir.name}")
    pages = sorted(result.run_dir.glob("*.html"), key=lambda p: -p.stat().st_size)
    for page in pages:
        size = page.stat().st_size
        verdict = ("  target < 1.5 MB: " + ("met" if size < TARGET_BYTES else "MISSED")
                   if page.name == "04_cleanup.html" else "")
        print(f"  {page.name:<16} {size / 1e6:6.2f} MB{verdict}")
    summary = json.loads((result.run_dir / "data" / "summary.json").read_text())
    print(f"  orphan models {summary.get('orphan_models')}, stale reports {summary.get('stale_reports')}, "
          f"exposures generated {summary.get('exposures_generated')}")
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
