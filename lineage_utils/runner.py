"""Run the notebook chain with papermill into a fresh run folder and publish it.

One run is ``<runs_dir>/<run_id>/`` holding the effective ``params.yaml``, ``run.json``
(the run record), each executed notebook ``<name>.ipynb`` and its ``<name>.html``,
``data/`` (written by the notebooks) and ``index.html``. ``<runs_dir>/index.html`` lists
all runs. The run holds ``.run.lock`` while it is alive (``publish.run_dirs``): a run
killed outright is marked ``interrupted`` by the next one. After the chain, the run's
crawl outcome (``data/crawl_status.json``) is recorded and returned (``ChainResult.crawl``).

Notebooks get exactly two injected parameters, ``params_path`` and ``run_dir``; never a
secret (papermill writes every parameter into the executed notebook and so the HTML).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import papermill
from filelock import FileLock, Timeout
from tqdm.auto import tqdm

from lineage_utils import params as params_mod
from lineage_utils.errors import ChainError, MetapipelineError, first_line
from lineage_utils.kernels import KERNEL_NAME, kernel_of_this_interpreter
from lineage_utils.publish.html import render_notebook, write_run_index, write_runs_index
from lineage_utils.publish.publish_dir import publish_run
from lineage_utils.publish.record import failure_info as _failure_info
from lineage_utils.publish.record import (CrawlOutcome, FailureInfo, RunRecord, read_crawl_outcome, read_run_record,
                                          write_run_record)
from lineage_utils.publish.run_dirs import RUN_LOCK, check_runs_dir, create_run_dir, hold_run_lock, new_run_id
from lineage_utils.redact import secrets_from_env
from lineage_utils.run_folder import Run
from lineage_utils.stages import STAGES, notify

logger = logging.getLogger(__name__)

NOTEBOOKS: tuple[str, ...] = STAGES

__all__ = [
    "NOTEBOOKS",
    "ChainFailed",
    "ChainResult",
    "FailureInfo",
    "default_notebooks_dir",
    "new_run_id",
    "resume_chain",
    "run_chain",
    "run_stage",
    "start_run",
]


@dataclass(frozen=True)
class ChainResult:
    run_id: str
    run_dir: Path
    executed: tuple[str, ...]  # notebook names that ran, in order (a failed one included)
    failed: FailureInfo | None = None
    crawl: CrawlOutcome | None = None  # None when 01_crawl wrote no crawl status

    @property
    def index_html(self) -> Path:
        return self.run_dir / "index.html"


class ChainFailed(ChainError):
    """A notebook failed; ``result`` tells what ran and where the run folder is."""

    def __init__(self, message: str, result: ChainResult) -> None:
        super().__init__(message)
        self.result = result

    def __reduce__(self):  # keep picklable despite the extra argument
        return (type(self), (str(self), self.result))


# ---------------------------------------------------------------------- selection


def _select(notebooks: Sequence[str], only: Sequence[str] | None) -> tuple[str, ...]:
    if only is None:
        return tuple(notebooks)
    wanted = [name.strip() for item in only for name in item.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in notebooks]
    if unknown:
        raise ChainError(
            f"unknown notebook(s) in --only: {', '.join(unknown)}; "
            f"valid names: {', '.join(notebooks)}"
        )
    if not wanted:
        raise ChainError(f"--only names no notebook; valid names: {', '.join(notebooks)}")
    return tuple(name for name in notebooks if name in wanted)


def default_notebooks_dir() -> Path:
    """``notebooks/`` next to the package, as in a source checkout."""
    return Path(__file__).resolve().parent.parent / "notebooks"


# --------------------------------------------------------------------------- chain


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _publish(run_dir: Path, record: RunRecord) -> None:
    write_run_record(run_dir, record)
    write_run_index(run_dir, record.notebooks, record.failure)
    write_runs_index(run_dir.parent)


def _render(run_dir: Path, name: str) -> None:
    ipynb = run_dir / f"{name}.ipynb"
    if ipynb.exists():
        render_notebook(ipynb, run_dir / f"{name}.html")


def _prepare(params_path: Path, overrides: Sequence[str], only: Sequence[str] | None, notebooks_dir: Path | None,
             notebooks: Sequence[str], runs_dir: Path | None) -> tuple[params_mod.Params, Path, tuple[str, ...], Path]:
    """Params, runs folder, notebooks and their folder, all checked before anything is created."""
    overrides = list(overrides)
    if runs_dir is not None:
        runs_dir = Path(runs_dir).resolve()
        overrides.append(f"run.runs_dir={runs_dir}")
    params = params_mod.load_params(Path(params_path), overrides)
    runs_dir = runs_dir or Path(params.runs_dir)
    selected = _select(notebooks, only)
    notebooks_dir = (notebooks_dir or default_notebooks_dir()).resolve()
    missing = [n for n in selected if not (notebooks_dir / f"{n}.ipynb").is_file()]
    if missing:
        raise ChainError(
            f"notebook(s) not found in {notebooks_dir}: "
            + ", ".join(f"{n}.ipynb" for n in missing)
        )
    check_runs_dir(runs_dir)
    return params, runs_dir, selected, notebooks_dir


def run_chain(
    params_path: Path,
    overrides: Sequence[str] = (),
    only: Sequence[str] | None = None,
    notebooks_dir: Path | None = None,
    notebooks: Sequence[str] = NOTEBOOKS,
    runs_dir: Path | None = None,
    progress: bool = True,
) -> ChainResult:
    """Execute ``notebooks`` (or the subset ``only``) in order into a new run folder.

    Params are loaded and validated first, then the notebook names: when either is
    wrong (``ParamsError``, ``ChainError``) nothing is created. The chain stops at the
    first failing notebook; what ran is still rendered and indexed, and
    :class:`ChainFailed` names the notebook, the cell and the exception.
    """
    params, runs_dir, selected, notebooks_dir = _prepare(params_path, overrides, only, notebooks_dir, notebooks,
                                                         runs_dir)
    started = datetime.now(UTC)
    run_dir = create_run_dir(runs_dir, started)
    with hold_run_lock(run_dir):  # before the first run.json: held while this run is alive
        return _execute(run_dir, started, params, selected, notebooks_dir, progress)


def start_run(params_path: Path, overrides: Sequence[str] = (), notebooks: Sequence[str] = NOTEBOOKS,
              runs_dir: Path | None = None) -> Path:
    """A new run folder for ``notebooks``, none executed yet: for an orchestrator that runs one per step.

    Checked as :func:`run_chain` checks; then ``params.yaml``, ``data/`` and a ``running``
    run.json exist, and :func:`run_stage` runs each notebook in turn, in any process.
    """
    params, runs_dir, selected, _ = _prepare(params_path, overrides, None, None, notebooks, runs_dir)
    started = datetime.now(UTC)
    run_dir = create_run_dir(runs_dir, started)
    with hold_run_lock(run_dir):
        params.write_effective(run_dir / "params.yaml")
        (run_dir / "data").mkdir()
        _publish(run_dir, RunRecord(run_id=run_dir.name, started_at=started.isoformat(timespec="seconds"),
                                    finished_at=None, status="running", notebooks=selected, pid=os.getpid()))
    return run_dir


def _again(run_dir: Path, notebooks_dir: Path | None, progress: bool, start: int | None,
           only: str | None = None) -> ChainResult:
    """Run notebooks of the run in ``run_dir`` again, in its folder and under its ``params.yaml``, holding its lock.

    ``start``: from that notebook to the end (None: from the one that failed or was
    interrupted); ``only``: that notebook alone, whose predecessors must have run.
    """
    run_dir = Path(run_dir).resolve()
    record = read_run_record(run_dir)
    if record is None or not (run_dir / "params.yaml").is_file():
        raise ChainError(f"{run_dir}: no run.json and params.yaml: not a run folder to resume")
    params = params_mod.load_params(run_dir / "params.yaml")
    notebooks_dir = (notebooks_dir or default_notebooks_dir()).resolve()
    if only is not None:
        if only not in record.notebooks:
            raise ChainError(f"run {run_dir.name} has no notebook {only!r} (it runs {', '.join(record.notebooks)})")
        start = record.notebooks.index(only)
        before = [n for n in record.notebooks[:start] if n not in record.executed]
        if before or (record.failed_notebook and record.failed_notebook != only):
            raise ChainError(f"run {run_dir.name}: {only} needs {', '.join(before or [record.failed_notebook])} "
                             "to have run first")
    elif start is None:
        start = (record.notebooks.index(record.executed[-1]) if record.executed
                 and record.executed[-1] in record.notebooks else 0)
    lock = FileLock(run_dir / RUN_LOCK)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ChainError(f"run {run_dir.name} is still running (pid {record.pid}): not resumed") from None
    try:
        resumed = replace(record, status="running", finished_at=None, pid=os.getpid(), failed_notebook=None,
                          failed_cell=None, failure=None, interruption=None, executed=record.notebooks[:start])
        selected = record.notebooks if only is None else record.notebooks[:start + 1]
        return _execute(run_dir, datetime.now(UTC), params, selected, notebooks_dir, progress, resumed=resumed,
                        final=selected[-1] == record.notebooks[-1])
    finally:
        lock.release()


def resume_chain(run_dir: Path, notebooks_dir: Path | None = None, progress: bool = True) -> ChainResult:
    """Run an earlier run's notebooks again in its own folder, under its own ``params.yaml``.

    From the notebook that failed or was interrupted to the end; for a run that
    completed, its last notebook again (04_cleanup: the apply finishes what is left and
    repeats nothing, ``actions.apply``). A run still alive (its lock held) is refused.
    """
    record = read_run_record(Path(run_dir).resolve())
    start = len(record.notebooks) - 1 if record is not None and record.status == "complete" else None
    if record is not None and record.status != "complete" and not record.executed:
        start = 0
    return _again(run_dir, notebooks_dir, progress, start)


def run_stage(run_dir: Path, name: str, notebooks_dir: Path | None = None, progress: bool = False) -> ChainResult:
    """Execute the notebook ``name`` in ``run_dir`` (made by :func:`start_run` or an earlier run).

    The notebooks before it must have run there. After the run's last notebook the run
    is complete (and its Slack summary made); before it, the run stays ``running`` and
    its lock is free until the next step takes it. A failure is recorded and raised as
    :class:`ChainFailed`, as in :func:`run_chain`.
    """
    return _again(run_dir, notebooks_dir, progress, None, only=name)


def _execute(run_dir: Path, started: datetime, params: params_mod.Params, selected: tuple[str, ...],
             notebooks_dir: Path, progress: bool, resumed: RunRecord | None = None, final: bool = True) -> ChainResult:
    """Run the selected notebooks into the (new, locked) ``run_dir``; see :func:`run_chain`.

    ``resumed``: the record of an earlier run in ``run_dir`` whose ``executed`` notebooks
    are kept; the others run again (:func:`resume_chain`). ``final``: the run ends after
    these (False: :func:`run_stage` before the last notebook; the run stays ``running``).
    """
    run_id = run_dir.name
    allow_incomplete = bool(params["cleanup.allow_incomplete"])
    params_file = run_dir / "params.yaml"
    if resumed is None:
        params.write_effective(params_file)
        (run_dir / "data").mkdir()
    record = resumed or RunRecord(
        run_id=run_id,
        started_at=started.isoformat(timespec="seconds"),
        finished_at=None,
        status="running",
        notebooks=selected,
        pid=os.getpid(),
    )
    _publish(run_dir, record)
    logger.info("run %s: %s into %s", run_id, ", ".join(selected), run_dir)

    parameters = {"params_path": str(params_file), "run_dir": str(run_dir)}
    executed: list[str] = list(record.executed)
    selected = tuple(n for n in selected if n not in executed)
    failure: FailureInfo | None = None
    bar = tqdm(selected, desc="notebooks", unit="nb", disable=not progress, leave=True)
    try:
        with kernel_of_this_interpreter(KERNEL_NAME):
            for name in bar:
                bar.set_postfix_str(name)
                executed.append(name)
                record = replace(record, executed=tuple(executed))
                write_run_record(run_dir, record)  # says which notebook runs, should the process die
                logger.info("executing %s", name)
                try:
                    papermill.execute_notebook(
                        str(notebooks_dir / f"{name}.ipynb"),
                        str(run_dir / f"{name}.ipynb"),
                        parameters=parameters,
                        kernel_name=KERNEL_NAME,
                        language="python",
                        cwd=str(notebooks_dir),
                        progress_bar=False,
                        log_output=False,
                    )
                except Exception as exc:  # noqa: BLE001 - any failure ends the chain
                    logger.debug("notebook %s failed", name, exc_info=True)
                    secrets = secrets_from_env(
                        v for k, v in params.values.items() if k.endswith("_env") and isinstance(v, str))
                    failure = _failure_info(name, exc, secrets)
                    break
                _render(run_dir, name)
                record = record.with_crawl(read_crawl_outcome(run_dir, allow_incomplete))
                _publish(run_dir, record)
    except BaseException as exc:
        # Ctrl-C, or rendering/publishing broke: leave an honest record, then re-raise.
        interrupted = not isinstance(exc, Exception)
        record = replace(
            record, status="interrupted" if interrupted else "failed", finished_at=_now_iso()
        )
        try:
            _publish(run_dir, record)
        except Exception:  # noqa: BLE001 - the original error matters more
            logger.exception("could not record the run %s", run_id)
        if interrupted or isinstance(exc, ChainError):
            raise
        raise ChainError(
            f"publishing run {run_id} failed after {executed[-1] if executed else 'start'}: "
            f"{type(exc).__name__}: {exc} -- see {run_dir}"
        ) from exc
    finally:
        bar.close()

    crawl = read_crawl_outcome(run_dir, allow_incomplete)
    record = record.with_crawl(crawl)
    if failure is not None:
        _fail(run_dir, record, failure, crawl, params)
    if not final:
        _publish(run_dir, record)
        return ChainResult(run_id=run_id, run_dir=run_dir, executed=tuple(executed), crawl=crawl)
    record = replace(record, status="complete", finished_at=_now_iso())
    _publish(run_dir, record)
    logger.info("run %s complete: %s", run_id, run_dir / "index.html")
    _notify(run_dir, params)
    _copy_to_publish_dir(run_dir, params)
    return ChainResult(run_id=run_id, run_dir=run_dir, executed=tuple(executed), crawl=crawl)


def _copy_to_publish_dir(run_dir: Path, params: params_mod.Params) -> None:
    """With ``publish.dir`` set, the finished run is copied there and that folder's index refreshed."""
    target = params.path("publish.dir")
    if target is not None:
        logger.info("run %s published to %s", run_dir.name, publish_run(run_dir, target))


def _notify(run_dir: Path, params: params_mod.Params) -> None:
    """The Slack summary of a complete run (``data/slack_message.json``; posted with ``slack.post``).

    A summary that cannot be made or sent is logged, never a failed run: the run's
    outputs are all there, and the message file says what would have been sent.
    """
    if "04_cleanup" not in read_run_record(run_dir).executed:  # type: ignore[union-attr]
        return  # a partial chain (--only) has no cleanup to summarise
    try:
        delivery = notify(Run(run_dir=run_dir, params=params))
    except MetapipelineError as exc:
        logger.error("slack summary of run %s not sent: %s", run_dir.name, first_line(exc, 300))
        return
    for note in delivery.notes:
        logger.info("slack summary: %s", note)


def _fail(run_dir: Path, record: RunRecord, failure: FailureInfo, crawl: CrawlOutcome | None,
          params: params_mod.Params | None = None) -> NoReturn:
    """Render the failed notebook, record the failure and raise :class:`ChainFailed`."""
    try:
        _render(run_dir, failure.notebook)
    except Exception:  # noqa: BLE001 - the notebook's failure is the error to report
        logger.exception("could not render the failed notebook %s", failure.notebook)
    record = replace(
        record,
        status="failed",
        finished_at=_now_iso(),
        failed_notebook=failure.notebook,
        failed_cell=failure.cell,
        failure=failure,
    )
    _publish(run_dir, record)
    if params is not None:
        _copy_to_publish_dir(run_dir, params)  # a failed run is published too: its page says where it failed
    result = ChainResult(run_id=record.run_id, run_dir=run_dir, executed=record.executed, failed=failure,
                         crawl=crawl)
    raise ChainFailed(
        f"notebook {failure.notebook} failed at {failure.cell_text()}: {failure.error()}"
        f" -- see {run_dir / 'index.html'}",
        result,
    )
