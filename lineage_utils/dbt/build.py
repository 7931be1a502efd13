"""Building a dbt project with real dbt-core (the demo does this on first use).

The project folder is never written to: target, logs and the DuckDB file go to the
target folder. A build runs only when the artifacts are missing or older than the
project's files, under a lock so two processes never build into one folder.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from filelock import FileLock

from lineage_utils.errors import ArtifactError

logger = logging.getLogger(__name__)

_IGNORED_DIRS = {"target", "logs", "dbt_packages", ".git", "__pycache__"}


def dbt_executable() -> str:
    beside = Path(sys.executable).parent / "dbt"
    if beside.is_file():
        return str(beside)
    found = shutil.which("dbt")
    if not found:
        raise ArtifactError("dbt is not installed in this environment (pip install dbt-core dbt-duckdb)")
    return found


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for root, dirs, files in os.walk(project_dir):
        dirs[:] = [d for d in dirs if d not in _IGNORED_DIRS]
        for name in files:
            newest = max(newest, (Path(root) / name).stat().st_mtime)
    return newest


def is_stale(project_dir: Path, target_dir: Path) -> bool:
    manifest = target_dir / "manifest.json"
    results = target_dir / "run_results.json"
    if not manifest.is_file() or not results.is_file():
        return True
    return min(manifest.stat().st_mtime, results.stat().st_mtime) < _newest_source_mtime(project_dir)


def dbt_env(target_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        METAPIPELINE_DUCKDB_PATH=str(target_dir / "demo.duckdb"),
    )
    return env


def run_dbt(project_dir: Path, target_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """`dbt <args>` with the project's own profiles.yml; output folders under target_dir."""
    command = [
        dbt_executable(), *args, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
        "--target-path", str(target_dir), "--log-path", str(target_dir / "logs"),
    ]
    logger.info("running %s", " ".join(command[:2]))
    return subprocess.run(command, cwd=project_dir, env=dbt_env(target_dir), capture_output=True, text=True,
                          check=False)


def ensure_built(project_dir: Path | None, target_dir: Path | None, force: bool = False) -> bool:
    """Build the project when its artifacts are missing or stale. True when it built."""
    if project_dir is None or not (project_dir / "dbt_project.yml").is_file():
        raise ArtifactError(f"params key 'dbt.project_dir': no dbt_project.yml in {project_dir}")
    if target_dir is None:
        raise ArtifactError("params key 'dbt.target_dir' is empty: where should dbt write its artifacts?")
    target_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(target_dir / ".metapipeline-build.lock"):
        if not force and not is_stale(project_dir, target_dir):
            return False
        result = run_dbt(project_dir, target_dir, "build")
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
            raise ArtifactError(f"dbt build of {project_dir} failed (exit {result.returncode}):\n{tail}")
    return True
