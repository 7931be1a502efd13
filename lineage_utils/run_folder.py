"""The run folder: named data contracts between notebooks, written atomically.

Notebooks talk only through ``runs/<run_id>/data/*``. Each artifact has one name,
file and format here; parquet files carry their schema version in the file metadata
and JSON files in a ``schema_version`` key, so a reader knows what it got.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lineage_utils.atomic import write_bytes_atomic, write_text_atomic
from lineage_utils.errors import ArtifactError
from lineage_utils.params import Params

Format = Literal["parquet", "json", "jsonl", "text"]
SCHEMA_VERSION = 1
_META_KEY = b"metapipeline.schema_version"


@dataclass(frozen=True)
class Artifact:
    name: str
    filename: str
    format: Format
    written_by: str


ARTIFACTS: dict[str, Artifact] = {
    a.name: a
    for a in (
        Artifact("bi_snapshot", "bi_snapshot.json", "json", "01_crawl"),
        Artifact("reports", "reports.parquet", "parquet", "01_crawl"),
        Artifact("queries", "queries.parquet", "parquet", "01_crawl"),
        Artifact("dbt_nodes", "dbt_nodes.parquet", "parquet", "01_crawl"),
        Artifact("dbt_edges", "dbt_edges.parquet", "parquet", "01_crawl"),
        Artifact("crawl_status", "crawl_status.json", "json", "01_crawl"),
        Artifact("query_refs", "query_refs.parquet", "parquet", "02_merge"),
        Artifact("lineage", "lineage.json", "json", "02_merge"),
        Artifact("centrality", "centrality.parquet", "parquet", "03_rank"),
        Artifact("stale_reports", "stale_reports.parquet", "parquet", "04_cleanup"),
        Artifact("orphan_models", "orphan_models.parquet", "parquet", "04_cleanup"),
        Artifact("exposures", "exposures.yml", "text", "04_cleanup"),
        Artifact("actions", "actions.jsonl", "jsonl", "04_cleanup"),
        Artifact("cleanup_patch", "cleanup.patch", "text", "04_cleanup"),
        Artifact("summary", "summary.json", "json", "every stage"),
    )
}


def dumps_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, stable separators, ISO dates."""
    return json.dumps(obj, indent=1, sort_keys=True, default=_json_default, ensure_ascii=False) + "\n"


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@dataclass(frozen=True)
class Run:
    """One run folder and its validated params."""

    run_dir: Path
    params: Params

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    def path(self, name: str) -> Path:
        if name not in ARTIFACTS:
            raise KeyError(f"unknown run artifact '{name}' (known: {', '.join(sorted(ARTIFACTS))})")
        return self.data_dir / ARTIFACTS[name].filename

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def _require(self, name: str) -> Path:
        path = self.path(name)
        if not path.is_file():
            raise ArtifactError(
                f"{path}: missing; it is written by {ARTIFACTS[name].written_by} (run that notebook first)"
            )
        return path

    # -- parquet -------------------------------------------------------------------
    def write_frame(self, name: str, frame: pd.DataFrame) -> Path:
        path = self.path(name)
        table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[_META_KEY] = str(SCHEMA_VERSION).encode()
        table = table.replace_schema_metadata(meta)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        write_bytes_atomic(path, sink.getvalue().to_pybytes())
        return path

    def read_frame(self, name: str) -> pd.DataFrame:
        path = self._require(name)
        table = pq.read_table(path)
        version = (table.schema.metadata or {}).get(_META_KEY)
        if version is None or int(version) != SCHEMA_VERSION:
            raise ArtifactError(f"{path}: schema version {version!r}, expected {SCHEMA_VERSION}")
        return table.to_pandas()

    # -- json / jsonl / text ----------------------------------------------------------
    def write_json(self, name: str, obj: Mapping[str, Any]) -> Path:
        path = self.path(name)
        write_text_atomic(path, dumps_json({**obj, "schema_version": SCHEMA_VERSION}))
        return path

    def read_json(self, name: str) -> dict[str, Any]:
        path = self._require(name)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ArtifactError(f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ArtifactError(f"{path}: schema version {data.get('schema_version')!r}, expected {SCHEMA_VERSION}")
        return data

    def write_jsonl(self, name: str, rows: Iterable[Mapping[str, Any]]) -> Path:
        path = self.path(name)
        text = "".join(json.dumps(row, sort_keys=True, default=_json_default) + "\n" for row in rows)
        write_text_atomic(path, text)
        return path

    def read_jsonl(self, name: str) -> list[dict[str, Any]]:
        path = self._require(name)
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def write_text(self, name: str, text: str) -> Path:
        path = self.path(name)
        write_text_atomic(path, text)
        return path

    def read_text(self, name: str) -> str:
        return self._require(name).read_text(encoding="utf-8")

    # -- summary ---------------------------------------------------------------------
    def update_summary(self, **values: Any) -> dict[str, Any]:
        """Merge headline numbers into summary.json (read by the run index)."""
        current = self.read_json("summary") if self.exists("summary") else {}
        current.pop("schema_version", None)
        current.update(values)
        self.write_json("summary", current)
        return current
