"""The run record, ``runs/<run_id>/run.json``: a run's status, where it failed, its crawl.

Written by the runner at every step (atomically), read by the index pages. A record that
says ``running`` while no live process holds the run's lock (``publish.run_dirs``) is
settled as ``interrupted`` by whoever next reads it to publish (:func:`settle_abandoned`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Sequence

from papermill.exceptions import PapermillExecutionError

from lineage_utils.atomic import write_text_atomic
from lineage_utils.bi.status import CrawlStatus
from lineage_utils.errors import ArtifactError, first_line
from lineage_utils.publish.run_dirs import abandoned
from lineage_utils.redact import redact
from lineage_utils.run_folder import ARTIFACTS

logger = logging.getLogger(__name__)

RUN_RECORD = "run.json"

RunStatus = Literal["running", "complete", "failed", "interrupted", "unknown"]
_STATUSES: frozenset[str] = frozenset({"running", "complete", "failed", "interrupted"})
MAX_PROBLEMS = 10  # crawl problems kept in run.json and shown; the count says how many in all


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
    pid: int | None = None  # the process running it (it holds the run's lock while alive)
    interruption: str | None = None  # why an ``interrupted`` run stopped, when known
    crawl_complete: bool | None = None  # None: no crawl status (01_crawl did not finish)
    deletions_withheld: bool | None = None
    crawl_problems: tuple[str, ...] = ()  # "target: reason", the first MAX_PROBLEMS
    crawl_problem_count: int = 0

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("notebooks", "executed", "crawl_problems"):
            data[key] = list(data[key])
        return data

    def with_crawl(self, outcome: CrawlOutcome | None) -> RunRecord:
        if outcome is None:
            return self
        return replace(self, crawl_complete=outcome.complete, deletions_withheld=outcome.deletions_withheld,
                       crawl_problems=outcome.problems, crawl_problem_count=outcome.problem_count)

    def notes(self, detail: bool = True) -> list[str]:
        """What a reader of the run's pages must know besides the status, in order.

        Without ``detail`` (the list of runs), crawl problems are counted, not listed.
        """
        notes = [f"Interrupted: {self.interruption}"] if self.interruption else []
        if self.crawl_complete is False:
            problems = self.crawl_problems if detail else ()
            notes.append(crawl_message(self.deletions_withheld, problems, self.crawl_problem_count))
        return notes

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
            pid=_typed(data.get("pid"), int),
            interruption=_typed(data.get("interruption"), str),
            crawl_complete=_typed(data.get("crawl_complete"), bool),
            deletions_withheld=_typed(data.get("deletions_withheld"), bool),
            crawl_problems=tuple(str(p) for p in data.get("crawl_problems") or ())[:MAX_PROBLEMS],
            crawl_problem_count=_typed(data.get("crawl_problem_count"), int) or 0,
        )


def _typed(value: Any, kind: type) -> Any:
    """``value`` if it is a ``kind`` (a bool is not an int here), else None."""
    if isinstance(value, bool) and kind is not bool:
        return None
    return value if isinstance(value, kind) else None


# ----------------------------------------------------------------------- the crawl


@dataclass(frozen=True)
class CrawlOutcome:
    """What the run's ``crawl_status.json`` (and 04_cleanup's summary) says, for the record."""

    complete: bool
    deletions_withheld: bool
    problems: tuple[str, ...]  # "target: reason", the first MAX_PROBLEMS
    problem_count: int


def read_crawl_outcome(run_dir: Path, allow_incomplete: bool) -> CrawlOutcome | None:
    """The crawl outcome of a run, or None when 01_crawl wrote no (readable) status.

    Deletions count as withheld when 04_cleanup says so, or, when it did not run, when the
    crawl is incomplete and ``cleanup.allow_incomplete`` is off (what 04_cleanup would do).
    """
    data_dir = run_dir / "data"
    path = data_dir / ARTIFACTS["crawl_status"].filename
    try:
        status = CrawlStatus.from_dict(json.loads(path.read_text(encoding="utf-8")), origin=str(path))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, AttributeError, ArtifactError) as exc:
        logger.warning("cannot read the crawl status %s: %s", path, exc)
        return None
    withheld = not status.complete and not allow_incomplete
    try:
        summary = json.loads((data_dir / ARTIFACTS["summary"].filename).read_text(encoding="utf-8"))
        if isinstance(summary, dict) and isinstance(summary.get("deletions_withheld"), bool):
            withheld = summary["deletions_withheld"]
    except (OSError, ValueError):
        pass
    problems = [f"{target}: {reason}" for target, reason in status.problems]
    if not status.complete and not problems:
        problems = ["the crawl reported itself incomplete without naming a reason"]
    return CrawlOutcome(complete=status.complete, deletions_withheld=withheld,
                        problems=tuple(p if len(p) <= 200 else p[:197] + "..." for p in problems[:MAX_PROBLEMS]),
                        problem_count=len(problems))


def crawl_message(withheld: bool | None, problems: tuple[str, ...], count: int) -> str:
    """``crawl incomplete: deletions withheld (2 problems: a: 403; b: missing)``."""
    head = "crawl incomplete: " + ("deletions withheld" if withheld is not False
                                   else "deletions proposed anyway (cleanup.allow_incomplete is on)")
    plural = "" if count == 1 else "s"
    if not problems:
        return f"{head} ({count} problem{plural})" if count else head
    more = f"; and {count - len(problems)} more" if count > len(problems) else ""
    return f"{head} ({count} problem{plural}: {'; '.join(problems)}{more})"


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


def settle_abandoned(run_dir: Path) -> RunRecord | None:
    """Record a run that says ``running`` but whose process is gone as ``interrupted``.

    Returns the new record, or None when there was nothing to settle. The record is re-read
    while holding the run's lock, so a run finishing meanwhile is never overwritten.
    """
    record = read_run_record(run_dir)
    if record is None or record.status != "running":
        return None
    with abandoned(run_dir, record.pid) as dead:
        record = read_run_record(run_dir) if dead else None
        if record is None or record.status != "running":
            return None
        who = f"process {record.pid}" if record.pid else "its process"
        during = f" during {record.executed[-1]}" if record.executed else ""
        noticed = datetime.now(UTC).isoformat(timespec="seconds")
        record = replace(record, status="interrupted",
                         interruption=f"{who} ended{during} without finishing the run (killed?); noticed {noticed}")
        write_run_record(run_dir, record)
    logger.warning("run %s was left running by a process that is gone: marked interrupted", record.run_id)
    return record


MAX_MESSAGE = 500
"""Characters of a failure's message kept in run.json and the index."""


# -- failures ------------------------------------------------------------------------
def cell_label(source: str) -> str:
    """The cell's ``#papermill_description=`` label, else its first non-blank line."""
    match = re.search(r"papermill_description=(\S+)", source or "")
    if match:
        return match.group(1)
    return first_line(source or "", 80)


def failure_info(notebook: str, exc: BaseException, secrets: Sequence[str] = ()) -> FailureInfo:
    """Where and how ``notebook`` failed; every form of ``secrets`` redacted (a second line
    of defence: run.json, index.html and stderr show this text)."""
    if isinstance(exc, PapermillExecutionError):
        return FailureInfo(
            notebook=notebook,
            cell=exc.cell_index + 1,
            execution_count=exc.exec_count,
            label=redact(cell_label(exc.source), secrets),
            ename=exc.ename,
            evalue=first_line(redact(exc.evalue or "", secrets), MAX_MESSAGE),
        )
    # Kernel died, timed out, missing input, ...: no cell to point at.
    return FailureInfo(
        notebook=notebook,
        cell=None,
        execution_count=None,
        label="",
        ename=type(exc).__name__,
        evalue=first_line(redact(str(exc), secrets), MAX_MESSAGE),
    )
