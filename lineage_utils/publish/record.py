"""The run record, ``runs/<run_id>/run.json``: a run's status and where it failed.

Written by the runner at every step (atomically), read by the index pages.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lineage_utils.atomic import write_text_atomic

logger = logging.getLogger(__name__)

RUN_RECORD = "run.json"

RunStatus = Literal["running", "complete", "failed", "interrupted", "unknown"]
_STATUSES: frozenset[str] = frozenset({"running", "complete", "failed", "interrupted"})


@dataclass(frozen=True)
class FailureInfo:
    """Where and how a notebook of the chain failed."""

    notebook: str
    cell: int | None  # 1-based position in the executed notebook, None if unknown
    execution_count: int | None  # the "In [n]" shown next to the cell
    label: str  # the cell's papermill_description, else its first line
    ename: str
    evalue: str

    def cell_text(self) -> str:
        """``cell 5 ('explode', In [4])``, or ``start-up`` when no cell ran into it."""
        if self.cell is None:
            return "start-up"
        details = [f"'{self.label}'"] if self.label else []
        if self.execution_count is not None:
            details.append(f"In [{self.execution_count}]")
        return f"cell {self.cell}" + (f" ({', '.join(details)})" if details else "")

    def where(self) -> str:
        """``02_merge, cell 5 ('explode', In [4])``."""
        return f"{self.notebook}, {self.cell_text()}"

    def error(self) -> str:
        """``ValueError: boom``."""
        return f"{self.ename}: {self.evalue}" if self.evalue else self.ename

    def describe(self) -> str:
        return f"{self.where()}: {self.error()}"


@dataclass(frozen=True)
class RunRecord:
    """The content of ``runs/<run_id>/run.json``."""

    run_id: str
    started_at: str  # ISO 8601, UTC
    finished_at: str | None
    status: RunStatus
    notebooks: tuple[str, ...]  # the notebooks this run was asked to execute, in order
    executed: tuple[str, ...] = ()  # those that ran (the failed one included)
    failed_notebook: str | None = None
    failed_cell: int | None = None
    failure: FailureInfo | None = None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["notebooks"] = list(self.notebooks)
        data["executed"] = list(self.executed)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunRecord:
        failure = data.get("failure")
        status = data.get("status")
        return cls(
            run_id=str(data["run_id"]),
            started_at=str(data.get("started_at") or ""),
            finished_at=data.get("finished_at"),
            status=status if status in _STATUSES else "unknown",
            notebooks=tuple(str(n) for n in data.get("notebooks") or ()),
            executed=tuple(str(n) for n in data.get("executed") or ()),
            failed_notebook=data.get("failed_notebook"),
            failed_cell=data.get("failed_cell"),
            failure=FailureInfo(**failure) if isinstance(failure, Mapping) else None,
        )


# --------------------------------------------------------------------------- writing


def write_run_record(run_dir: Path, record: RunRecord) -> None:
    text = json.dumps(record.to_json(), indent=2, sort_keys=True, ensure_ascii=False)
    write_text_atomic(run_dir / RUN_RECORD, text + "\n")


def read_run_record(run_dir: Path) -> RunRecord | None:
    """The run's record, or None (logged) when it is missing or unreadable."""
    path = run_dir / RUN_RECORD
    try:
        return RunRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("cannot read run record %s: %s", path, exc)
        return None
