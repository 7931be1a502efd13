"""Generate a Mode workspace snapshot folder of any size (API layout), deterministically.

    python benchmarks/generate_mode_workspace.py OUT_DIR --reports 5000 --queries 20000

Spaces hold the reports evenly; about 1% of the reports are datasets; queries are
spread over the reports (at least one each) and read tables of the demo project.
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from lineage_utils.bi.snapshot import BUNDLE_FORMAT, BUNDLE_VERSION, write_snapshot_dir

WORKSPACE = "bench-workspace"
TABLES = ("marts.fct_orders", "marts.dim_customers", "marts.fct_daily_revenue", "staging.stg_payments",
          "marts.fin_mrr", "marts.fct_sessions", "raw.legacy_events")


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def generate_bundle(reports: int = 5000, queries: int = 20000, spaces: int = 10, users: int = 40,
                    seed: int = 0, tables: tuple[str, ...] = TABLES) -> dict[str, Any]:
    rng = random.Random(seed)
    token = lambda: "%012x" % rng.getrandbits(48)  # noqa: E731
    base = datetime(2025, 1, 1, tzinfo=timezone.utc)
    usernames = [f"user_{n:03d}" for n in range(users)]
    space_items = [{
        "token": token(), "id": 3_000_000 + n, "space_type": "private" if n == spaces - 1 else "custom",
        "name": f"Space {n}", "description": "", "state": "active", "restricted": False,
        "free_default": False, "viewable?": True, "default_access_level": "view",
        "_links": {"self": {"href": f"/api/{WORKSPACE}/collections/{n}"}},
    } for n in range(spaces)]
    report_items = []
    for n in range(reports):
        tok, created = token(), base + timedelta(minutes=rng.randrange(500_000))
        edited = created + timedelta(minutes=rng.randrange(100_000))
        creator = usernames[n % users]
        report_items.append({
            "token": tok, "id": 4_000_000 + n, "name": f"Report {n}", "description": "",
            "type": "DatasetReport" if n % 100 == 0 else "Report",
            "created_at": _stamp(created), "updated_at": _stamp(edited), "edited_at": _stamp(edited),
            "last_saved_at": _stamp(edited), "last_run_at": _stamp(edited + timedelta(days=rng.randrange(90))),
            "archived": n % 37 == 0, "space_token": space_items[n % spaces]["token"],
            "account_username": WORKSPACE, "runs_count": rng.randrange(500), "view_count": rng.randrange(2000),
            "schedules_count": rng.randrange(2), "query_count": 0, "chart_count": 1, "imported_datasets": [],
            "_links": {"self": {"href": f"/api/{WORKSPACE}/reports/{tok}"},
                       "web": {"href": f"https://app.mode.com/{WORKSPACE}/reports/{tok}"},
                       "creator": {"href": f"/api/{creator}"},
                       "queries": {"href": f"/api/{WORKSPACE}/reports/{tok}/queries"}},
        })
    per_report: dict[str, list[dict[str, Any]]] = {r["token"]: [] for r in report_items}
    for n in range(queries):
        report = report_items[n % reports]
        tok = token()
        per_report[report["token"]].append({
            "id": 20_000_000 + n, "token": tok, "name": f"Query {n}", "data_source_id": 1001,
            "raw_query": f"SELECT * FROM {rng.choice(tables)} WHERE id > {{{{ min_id }}}}\n"
                         "{% form %}\nmin_id:\n  type: number\n  default: 0\n{% endform %}",
            "created_at": report["created_at"], "updated_at": report["updated_at"],
            "_links": {"self": {"href": f"/api/{WORKSPACE}/reports/{report['token']}/queries/{tok}"}},
        })
    for report in report_items:
        report["query_count"] = len(per_report[report["token"]])
    return {
        "format": BUNDLE_FORMAT, "format_version": BUNDLE_VERSION, "workspace": WORKSPACE,
        "captured_at": _stamp(base), "spaces": space_items, "reports": report_items, "queries": per_report,
        "data_sources": [{"id": 1001, "token": "8964487ecec3", "name": "Warehouse", "adapter": "jdbc:postgresql",
                          "database": "bench", "host": "warehouse.internal", "default": True}],
        "definitions": [],
        "users": {u: {"username": u, "name": u.replace("_", " ").title(), "email": f"{u}@example.com",
                      "_links": {"self": {"href": f"/api/{u}"}}} for u in usernames},
    }


def generate_workspace(folder: Path, **options: Any) -> Path:
    return write_snapshot_dir(generate_bundle(**options), folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--reports", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=20000)
    parser.add_argument("--spaces", type=int, default=10)
    args = parser.parse_args()
    generate_workspace(args.out_dir, reports=args.reports, queries=args.queries, spaces=args.spaces)
    print(f"wrote {args.out_dir}")


if __name__ == "__main__":
    main()
