"""Hand-made run_results.json files for the history tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Sequence

Node = tuple[str, str, float]  # unique_id, status, execution_time


def run_results(invocation_id: str, day: str, nodes: Sequence[Node], elapsed: float | None = 10.0) -> dict:
    results = []
    for index, (uid, status, seconds) in enumerate(nodes):
        start = f"{day}T02:{index:02d}:00Z"
        timing = [] if status == "skipped" else [
            {"name": "compile", "started_at": start, "completed_at": start},
            {"name": "execute", "started_at": start, "completed_at": f"{day}T02:{index:02d}:30Z"}]
        results.append({"unique_id": uid, "status": status, "execution_time": seconds, "timing": timing})
    data = {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
                         "dbt_version": "1.10.2", "generated_at": f"{day}T03:00:00Z", "invocation_id": invocation_id},
            "results": results, "args": {"which": "build"}}
    if elapsed is not None:
        data["elapsed_time"] = elapsed
    return data


def write_run_results(path: Path, invocation_id: str, day: str, nodes: Sequence[Node], **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(run_results(invocation_id, day, nodes, **kwargs))
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def table_rows(store: Path, table: str) -> int:
    import duckdb

    with duckdb.connect(str(store), read_only=True) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
