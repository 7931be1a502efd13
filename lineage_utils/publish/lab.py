"""Publish the JupyterLab run (``runs/lab``) like a batch run: HTML pages, a run page, the runs index.

In the lab the chain's notebooks are run by hand against ``runs/lab`` and saved where
they are (``notebooks/``). This takes each saved notebook that was run there, copies it
into the lab run folder, renders its page (code hidden, as for a batch run), writes the
run's ``run.json`` and ``index.html``, refreshes ``runs/index.html``, and copies the run
to ``publish.dir`` when that is set::

    make lab-publish            # or: python -m lineage_utils.publish.lab --params params/mine.yaml

A notebook that was never run (no executed cell) is left out, so the run shows as
partial; one saved with an error output makes the run failed at that cell.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Sequence

import nbformat

from lineage_utils.atomic import write_text_atomic
from lineage_utils.errors import MetapipelineError, first_line
from lineage_utils.params import load_params
from lineage_utils.publish.html import render_notebook, write_run_index, write_runs_index
from lineage_utils.publish.publish_dir import publish_run
from lineage_utils.publish.record import FailureInfo, RunRecord, cell_label, write_run_record
from lineage_utils.run_folder import LAB_RUN, STAGES

__all__ = ["LAB_RUN", "publish_lab"]



def _ran_here(notebook: nbformat.NotebookNode) -> bool:
    """Some code cell was executed, and not by the batch runner (which injects its own parameters)."""
    cells = notebook.cells
    injected = any("injected-parameters" in c.get("metadata", {}).get("tags", ()) for c in cells)
    return not injected and any(c.cell_type == "code" and c.get("execution_count") for c in cells)


def _first_error(name: str, notebook: nbformat.NotebookNode) -> FailureInfo | None:
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", ()) if cell.cell_type == "code" else ():
            if output.get("output_type") == "error":
                return FailureInfo(notebook=name, cell=index + 1, execution_count=cell.get("execution_count"),
                                   label=cell_label(cell.source),
                                   ename=str(output.get("ename")), evalue=str(output.get("evalue"))[:500])
    return None


def publish_lab(params_path: Path, notebooks_dir: Path) -> Path:
    """Publish the lab run from the notebooks saved in ``notebooks_dir``; return its ``index.html``."""
    params = load_params(Path(params_path))
    run_dir = params.runs_dir / LAB_RUN
    ran: list[str] = []
    failure = None
    stamps = []
    for name in STAGES:
        source = Path(notebooks_dir) / f"{name}.ipynb"
        if not source.is_file():
            continue
        try:
            notebook = nbformat.read(source, as_version=4)
        except (OSError, ValueError, json.JSONDecodeError) as exc:
            raise MetapipelineError(f"{source}: not a notebook JupyterLab saved: {exc}") from exc
        if not _ran_here(notebook):
            continue
        run_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(run_dir / f"{name}.ipynb", nbformat.writes(notebook))
        render_notebook(run_dir / f"{name}.ipynb", run_dir / f"{name}.html")
        ran.append(name)
        stamps.append(source.stat().st_mtime)
        failure = failure or _first_error(name, notebook)
    if not ran:
        raise MetapipelineError(f"{notebooks_dir}: no notebook of the chain was run and saved in the lab "
                                f"({', '.join(STAGES)}): run them in JupyterLab (make lab), save, then publish")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    started = datetime.fromtimestamp(min(stamps), UTC).isoformat(timespec="seconds")
    record = RunRecord(run_id=LAB_RUN, started_at=started, finished_at=now,
                       status="failed" if failure else "complete", notebooks=tuple(ran), executed=tuple(ran),
                       failed_notebook=failure.notebook if failure else None,
                       failed_cell=failure.cell if failure else None, failure=failure)
    write_run_record(run_dir, record)
    index = write_run_index(run_dir, record.notebooks, failure)
    write_runs_index(run_dir.parent)
    target = params.path("publish.dir")
    if target is not None:
        publish_run(run_dir, target)
    return index


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lineage_utils.publish.lab", description=first_line(__doc__ or ""))
    parser.add_argument("--params", type=Path, default=Path("params/default.yaml"), help="the lab's params file")
    parser.add_argument("--notebooks-dir", type=Path, default=Path("notebooks"), help="where the lab saved them")
    args = parser.parse_args(argv)
    try:
        index = publish_lab(args.params, args.notebooks_dir)
    except MetapipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"report: {index}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
