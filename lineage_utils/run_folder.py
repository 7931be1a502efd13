"""The run folder: named data contracts between notebooks, written atomically.

Notebooks talk only through ``runs/<run_id>/data/*``. Each artifact has one name,
file and format here; parquet files carry their schema version in the file metadata
and JSON files in a ``schema_version`` key, so a reader knows what it got. Each parquet
file has a CSV twin beside it (``csvio``), for a browser or a spreadsheet.

Every artifact also records its *provenance*: the stage that wrote it and the digest
of the params it was made under: in the parquet metadata, else in a hidden sidecar
``.<file>.provenance.json`` written right after the file (so checking a big
``lineage.json`` never means parsing it). A stage's digest covers the params keys first
read by it and by every stage before it (``FIRST_READ_BY``), so changing a staleness
threshold outdates 02_merge and what follows, never the crawl.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lineage_utils.atomic import write_bytes_atomic, write_text_atomic
from lineage_utils.csvio import frame_to_csv
from lineage_utils.errors import ArtifactError
from lineage_utils.jsonio import dumps_json, loads_json, to_jsonable
from lineage_utils.params import SPECS, Params

Format = Literal["parquet", "json", "jsonl", "text"]
SCHEMA_VERSION = 1
_META_KEY = b"metapipeline.schema_version"
_PROVENANCE_KEY = b"metapipeline.provenance"

STAGES: tuple[str, ...] = ("01_crawl", "02_merge", "03_rank", "04_cleanup")
LAB_RUN = "lab"
"""The run folder (under ``run.runs_dir``) the notebooks work in when opened in JupyterLab."""
"""The chain, in order: one notebook and one function of ``stages`` each."""

FIRST_READ_BY: Mapping[str, str] = {
    "dbt": "01_crawl", "bi": "01_crawl", "bi.data_sources": "02_merge", "sql": "02_merge",
    "staleness": "02_merge", "protection": "02_merge", "centrality": "03_rank", "cleanup": "04_cleanup",
    "exposures": "04_cleanup", "git": "04_cleanup", "github": "04_cleanup",
    "publish.base_url": "04_cleanup", "exposures.path": "02_merge", "history": "03_rank",
}
"""Params section (or key, which wins) -> the first stage whose outputs depend on it.
``run`` keys say where a run goes, ``slack`` keys what is sent after it, ``publish.dir``
where it is copied and ``explore`` keys how the lab explorer draws it, never what it
finds: they belong to no stage (``OUTSIDE_THE_CHAIN``).
``publish.base_url`` is what the pull request bodies of 04_cleanup link to."""


OUTSIDE_THE_CHAIN = ("run.", "slack.", "publish.dir", "explore.")
"""Prefixes of the params keys no stage reads (changing them outdates nothing)."""


def first_reader(key: str) -> str | None:
    return FIRST_READ_BY.get(key, FIRST_READ_BY.get(key.split(".", 1)[0]))


def stage_params(params: Params, stage: str) -> dict[str, Any]:
    """The params an artifact of ``stage`` depends on: keys first read by it or earlier."""
    upto = set(STAGES[: STAGES.index(stage) + 1])
    return {key: to_jsonable(params[key]) for key in sorted(SPECS) if first_reader(key) in upto}


def params_digest(params: Params, stage: str) -> str:
    text = json.dumps(stage_params(params, stage), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"{stage}\n{text}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Provenance:
    """Which stage wrote an artifact, under which params (``params`` as in ``stage_params``)."""

    stage: str
    params_digest: str
    params: Mapping[str, Any]

    @classmethod
    def of(cls, params: Params, stage: str) -> Provenance:
        return cls(stage=stage, params_digest=params_digest(params, stage), params=stage_params(params, stage))

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "params_digest": self.params_digest, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: Any) -> Provenance | None:
        if not isinstance(data, Mapping) or not {"stage", "params_digest", "params"} <= data.keys():
            return None
        return cls(stage=str(data["stage"]), params_digest=str(data["params_digest"]), params=dict(data["params"]))

    def changes(self, current: Provenance) -> list[str]:
        """``key: old -> new`` for each param that differs from ``current``."""
        keys = sorted(set(self.params) | set(current.params))
        return [f"{k}: {self.params.get(k)!r} -> {current.params.get(k)!r}" for k in keys
                if self.params.get(k) != current.params.get(k)]


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
        Artifact("dbt_tests", "dbt_tests.parquet", "parquet", "01_crawl"),
        Artifact("dbt_docs", "dbt_docs.parquet", "parquet", "01_crawl"),
        Artifact("crawl_status", "crawl_status.json", "json", "01_crawl"),
        Artifact("query_refs", "query_refs.parquet", "parquet", "02_merge"),
        Artifact("lineage", "lineage.json", "json", "02_merge"),
        Artifact("centrality", "centrality.parquet", "parquet", "03_rank"),
        Artifact("priorities", "priorities.parquet", "parquet", "03_rank"),
        Artifact("trend", "trend.parquet", "parquet", "03_rank"),
        Artifact("stale_reports", "stale_reports.parquet", "parquet", "04_cleanup"),
        Artifact("orphan_models", "orphan_models.parquet", "parquet", "04_cleanup"),
        Artifact("exposures", "exposures.yml", "text", "04_cleanup"),
        Artifact("exposures_diff", "exposures.diff", "text", "04_cleanup"),
        Artifact("actions", "actions.jsonl", "jsonl", "04_cleanup"),
        Artifact("cleanup_patch", "cleanup.patch", "text", "04_cleanup"),
        Artifact("pr_body", "pr_body.md", "text", "04_cleanup"),
        Artifact("summary", "summary.json", "json", "every stage"),
    )
}


@dataclass(frozen=True)
class Run:
    """One run folder and its validated params."""

    run_dir: Path
    params: Params
    reran: tuple[tuple[str, str], ...] = field(default=())
    """Stages re-run when this run was opened, each with why (see ``stages.open_run``)."""

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

    def stage_of(self, name: str) -> str | None:
        stage = ARTIFACTS[name].written_by
        return stage if stage in STAGES else None

    def _provenance(self, name: str) -> Provenance | None:
        stage = self.stage_of(name)
        return Provenance.of(self.params, stage) if stage else None

    def _sidecar(self, name: str) -> Path:
        path = self.path(name)
        return path.with_name(f".{path.name}.provenance.json")

    def provenance(self, name: str) -> Provenance | None:
        """The stage and params an existing artifact was made under (None: unknown)."""
        path = self.path(name)
        if not path.is_file():
            return None
        fmt = ARTIFACTS[name].format
        try:
            if fmt == "parquet":
                raw = (pq.read_schema(path).metadata or {}).get(_PROVENANCE_KEY)
                return Provenance.from_dict(json.loads(raw)) if raw else None
            sidecar = self._sidecar(name)
            return Provenance.from_dict(json.loads(sidecar.read_text(encoding="utf-8"))) if sidecar.is_file() else None
        except (OSError, ValueError, AttributeError, pa.ArrowException):
            return None

    def outdated(self, stage: str) -> str | None:
        """Why the outputs of ``stage`` cannot be used under this run's params, or None."""
        current = Provenance.of(self.params, stage)
        for name, artifact in ARTIFACTS.items():
            if artifact.written_by != stage:
                continue
            if not self.exists(name):
                return f"its output {artifact.filename} is missing"
            made = self.provenance(name)
            if made is None:
                return f"{artifact.filename} records no params digest"
            if made.params_digest != current.params_digest:
                changes = made.changes(current)
                return f"{artifact.filename} was made under other params ({'; '.join(changes) or 'digest differs'})"
        return None

    def record_provenance(self, name: str) -> None:
        """Record the provenance of an artifact written by someone else (the action journal appends itself)."""
        self._write_sidecar(name)

    def _write_sidecar(self, name: str) -> None:
        provenance = self._provenance(name)
        if provenance is not None:
            write_text_atomic(self._sidecar(name), dumps_json(provenance.to_dict()))

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
        provenance = self._provenance(name)
        if provenance is not None:
            meta[_PROVENANCE_KEY] = json.dumps(provenance.to_dict(), sort_keys=True).encode()
        table = table.replace_schema_metadata(meta)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        write_bytes_atomic(path, sink.getvalue().to_pybytes())
        write_text_atomic(path.with_suffix(".csv"), frame_to_csv(frame))  # its twin, for a browser or a spreadsheet
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
        self._write_sidecar(name)
        return path

    def read_json(self, name: str) -> dict[str, Any]:
        path = self._require(name)
        data = loads_json(path.read_text(encoding="utf-8"), str(path))
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
            found = data.get("schema_version") if isinstance(data, dict) else None
            raise ArtifactError(f"{path}: schema version {found!r}, expected {SCHEMA_VERSION}")
        return data

    def write_jsonl(self, name: str, rows: Iterable[Mapping[str, Any]]) -> Path:
        path = self.path(name)
        text = "".join(dumps_json(row, indent=None) for row in rows)
        write_text_atomic(path, text)
        self._write_sidecar(name)
        return path

    def read_jsonl(self, name: str) -> list[dict[str, Any]]:
        path = self._require(name)
        return [loads_json(line, f"{path} line {number}")
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if line.strip()]

    def write_text(self, name: str, text: str) -> Path:
        path = self.path(name)
        write_text_atomic(path, text)
        self._write_sidecar(name)
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
