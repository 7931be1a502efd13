"""Generate the demo's run history: DEMO DATA, made up, deterministic.

    .venv/bin/python demo/history/generate.py            # rewrites demo/history/archive/
    .venv/bin/python -m lineage_utils.history import demo/history/archive --store runs/history.duckdb

What it writes under ``archive/`` (committed, ~100 KB; run it again after changing it,
the output is byte-for-byte the same for the same input):

* ``run_results/<day>/run_results.json.gz``: one nightly ``dbt run`` per day from
  2026-08-20 to 2026-10-31 (73 days before the demo's "now", 2026-11-01), shaped like
  dbt 1.10's run_results.json (``metadata.invocation_id``, ``timing``, ``execution_time``),
  every model of ``demo/dbt_project`` (but the disabled and the ephemeral one) plus 12
  retired models that the cleanup pull request removed;
* ``metapipeline_history.json``: a history seed of weekly metapipeline runs with their
  headline counts (models, orphans, stale reports, exposures) and the cleanup pull
  request ``#42``, merged 2026-10-01 14:30 UTC, after which the project is smaller.

Every file is labelled: ``metadata.env.METAPIPELINE_DEMO_DATA`` in each run_results
(dbt writes ``DBT_ENV_CUSTOM_ENV_*`` variables there) and ``"demo": true`` in the seed,
so the store's ``demo`` columns say so and the charts' titles read "demo data".
Nothing here comes from ../shared; the random numbers come from a fixed seed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import sys
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent / "dbt_project"
FIRST_DAY, LAST_DAY = date(2026, 8, 20), date(2026, 10, 31)
CLEANUP_MERGED = datetime(2026, 10, 1, 14, 30)
NOT_RUN = {"stg_shop__gift_cards", "int_order_items_enriched"}  # disabled; ephemeral (never in run_results)
RETIRED = ("dim_customers_v1", "fct_ab_test_results", "fct_orders_v1", "fct_wishlist_conversions",
           "fin_legacy_invoices_v1", "fin_legacy_revenue_recognition", "int_ab_test_assignments",
           "int_wishlist_items", "mkt_legacy_attribution", "mkt_legacy_channel_spend", "stg_shop__wishlists",
           "stg_web__ab_tests")
MARK = {"METAPIPELINE_DEMO_DATA": "demo/history/generate.py"}


def project_models() -> list[str]:
    """The demo project's executed models, by file name."""
    return sorted(p.stem for p in (PROJECT / "models").rglob("*.sql") if p.stem not in NOT_RUN)


def base_seconds(name: str) -> float:
    """A stable typical runtime per model: 0.3 s to ~25 s, marts and retired models slower."""
    spread = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    scale = 8.0 if name.startswith(("fct_", "fin_", "mkt_", "dim_")) else 2.0
    return round(0.3 + scale * spread ** 2 * (2.5 if name in RETIRED else 1.0), 3)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run_results(day: date, models: list[str], rng: random.Random) -> dict:
    """One nightly ``dbt run`` on ``day``: the models one after another from 02:00 UTC."""
    clock = start = datetime.combine(day, datetime.min.time()) + timedelta(hours=2, seconds=rng.randint(0, 300))
    failing = rng.choice(models) if rng.random() < 0.06 else None  # now and then one model fails that night
    results = []
    for name in models:
        seconds = round(base_seconds(name) * rng.uniform(0.8, 1.3), 3)
        ended = clock + timedelta(seconds=seconds)
        failed = name == failing
        results.append({
            "unique_id": f"model.metapipeline_demo.{name}", "status": "error" if failed else "success",
            "execution_time": seconds, "thread_id": "Thread-1", "failures": None,
            "message": "Runtime Error: demo failure" if failed else "OK",
            "timing": [{"name": "execute", "started_at": _stamp(clock), "completed_at": _stamp(ended)}],
            "adapter_response": {}})
        clock = ended
    return {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
                     "dbt_version": "1.10.4", "generated_at": _stamp(clock + timedelta(seconds=1)),
                     "invocation_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"metapipeline-demo/{day}")), "env": MARK},
        "results": results,
        "elapsed_time": round((clock - start).total_seconds() + 4.0, 3),
        "args": {"which": "run", "invocation_command": "dbt run --target prod"},
    }


def seed(current_models: int) -> dict:
    """Weekly metapipeline runs (Mondays 06:00 UTC): the counts fall when the cleanup is merged."""
    runs = []
    day = FIRST_DAY + timedelta(days=(7 - FIRST_DAY.weekday()) % 7)
    for week in range(20):
        if day > LAST_DAY:
            break
        before = datetime.combine(day, datetime.min.time()) < CLEANUP_MERGED
        counts = {"models": current_models + len(RETIRED), "orphans": 17 + min(week, 2), "stale_reports": 12 + week % 3,
                  "exposures": 19} if before else {"models": current_models, "orphans": 7, "stale_reports": 8,
                                                   "exposures": 21}
        runs.append({"run_id": f"demo-{day.isoformat()}", "started_at": f"{day.isoformat()}T06:00:00Z",
                     "counts": counts})
        day += timedelta(days=7)
    return {"metapipeline_history": 1, "demo": True,
            "note": "DEMO DATA generated by demo/history/generate.py; not a record of real runs",
            "runs": runs,
            "cleanups": [{"pull_request": "#42", "title": f"Remove {len(RETIRED)} orphan models (metapipeline cleanup)",
                          "merged_at": f"{CLEANUP_MERGED.isoformat()}Z"}]}


def _gzip(text: str) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as handle:
        handle.write(text.encode("utf-8"))
    return buffer.getvalue()


def generate(out: Path) -> list[Path]:
    """Write the archive under ``out``; the files written, sorted."""
    rng = random.Random(20261101)
    current = project_models()
    written = []
    day = FIRST_DAY
    while day <= LAST_DAY:
        before = datetime.combine(day, datetime.min.time()) < CLEANUP_MERGED
        models = sorted(current + list(RETIRED)) if before else current
        path = out / "run_results" / day.isoformat() / "run_results.json.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_gzip(json.dumps(run_results(day, models, rng), sort_keys=True, separators=(",", ":"))))
        written.append(path)
        day += timedelta(days=1)
    seed_path = out / "metapipeline_history.json"
    seed_path.write_text(json.dumps(seed(len(current)), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return sorted([*written, seed_path])


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "archive"
    files = generate(target)
    print(f"{len(files)} files of DEMO history under {target}")
