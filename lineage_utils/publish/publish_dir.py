"""Copy a finished run folder to ``publish.dir`` (a web server's or a shared drive's folder) and
refresh the index of runs there.

The copy lands whole or not at all: it is made beside its place and renamed in, so a
reader of the folder never sees half a run, and a run published again replaces its
earlier copy. Lock files and symbolic links are not copied (a link could point out of
the run folder).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from lineage_utils.errors import ChainError
from lineage_utils.publish.html import write_runs_index

__all__ = ["publish_run"]


def _skipped(folder: str, names: list[str]) -> set[str]:
    return {name for name in names if name.endswith(".lock") or os.path.islink(os.path.join(folder, name))}


def publish_run(run_dir: Path, target: Path) -> Path:
    """Copy ``run_dir`` to ``target/<run id>/`` and rewrite ``target/index.html``; return the copy."""
    run_dir, target = Path(run_dir).resolve(), Path(target).resolve()
    if not (run_dir / "run.json").is_file():
        raise ChainError(f"publish: {run_dir} is not a run folder (no run.json)")
    if target == run_dir or target.is_relative_to(run_dir) or target == run_dir.parent:
        raise ChainError(f"publish.dir {target}: must be a folder of its own, not the run folder "
                         f"{run_dir} or its runs folder")
    try:
        target.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}.", dir=target))
    except OSError as exc:
        raise ChainError(f"publish.dir {target}: cannot write there: {exc.strerror or exc}") from exc
    destination, replaced = target / run_dir.name, staging / "replaced"
    try:
        copy = shutil.copytree(run_dir, staging / run_dir.name, ignore=_skipped)
        if destination.exists():
            destination.rename(replaced)
        Path(copy).rename(destination)
    except OSError as exc:
        if replaced.exists() and not destination.exists():
            replaced.rename(destination)  # the earlier copy stays published
        raise ChainError(f"publish.dir {target}: copying run {run_dir.name} failed: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    write_runs_index(target)
    return destination
