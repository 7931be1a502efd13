"""Shared fixtures: the repo, ../shared, the demo built once per session, a demo run."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lineage_utils.dbt import build as dbt_build
from lineage_utils.params import load_yaml

REPO = Path(__file__).resolve().parents[1]
SLOW_FIXTURES = frozenset({"demo_target", "demo_run", "published_demo_run", "ok_run", "failed_run"})
"""Fixtures that build the demo with real dbt or run notebook kernels (tests/test_runner.py)."""
SHARED = REPO.parent / "shared"
DEMO_PARAMS = REPO / "params" / "default.yaml"


def pytest_collection_modifyitems(config, items):
    """Honest tiers: a test that needs dbt or a kernel must be marked slow, or collection fails."""
    unmarked = [f"{item.nodeid} (uses {', '.join(sorted(SLOW_FIXTURES & set(item.fixturenames)))})"
                for item in items
                if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) and item.get_closest_marker("slow") is None]
    if unmarked:
        raise pytest.UsageError("tests that build the demo with dbt must be marked @pytest.mark.slow:\n  "
                                + "\n  ".join(unmarked))


@pytest.fixture(autouse=True)
def _fast_tests_start_no_dbt_and_no_kernel(request, monkeypatch):
    """A test not marked slow that runs dbt or a notebook kernel fails, naming itself."""
    if request.node.get_closest_marker("slow") is not None:
        return
    import papermill

    def refuse(what: str):
        def refused(*args, **kwargs):
            raise AssertionError(f"{request.node.nodeid} {what}: mark it @pytest.mark.slow "
                                 "(`make test-fast` runs no dbt and no kernel)")
        return refused

    monkeypatch.setattr(dbt_build, "run_dbt", refuse("runs dbt"))
    monkeypatch.setattr(papermill, "execute_notebook", refuse("starts a notebook kernel"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip(f"../shared/data is absent ({data}): real manifests and Mode recordings live only in CI")
    return data


@pytest.fixture(scope="session")
def demo_expected() -> dict:
    text = (REPO / "demo" / "EXPECTED.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block, "demo/EXPECTED.md has no ```yaml block"
    return load_yaml(block.group(1), "demo/EXPECTED.md")


@pytest.fixture(scope="session")
def demo_target(tmp_path_factory) -> Path:
    """The demo dbt project built with real dbt into a private target folder."""
    target = tmp_path_factory.mktemp("demo_dbt") / "target"
    dbt_build.ensure_built(REPO / "demo" / "dbt_project", target)
    return target


def demo_overrides(target: Path, runs_dir: Path) -> list[str]:
    return [f"dbt.target_dir={target}", "dbt.build=false", f"run.runs_dir={runs_dir}"]


@pytest.fixture(scope="session")
def demo_run(demo_target, tmp_path_factory):
    """All four stages run in-process on the demo into a temp run folder."""
    from lineage_utils import stages
    from lineage_utils.params import load_params
    from lineage_utils.run_folder import Run

    runs = tmp_path_factory.mktemp("runs")
    params = load_params(DEMO_PARAMS, demo_overrides(demo_target, runs))
    run = Run(run_dir=runs / "demo", params=params)
    run.data_dir.mkdir(parents=True)
    for stage in stages.STAGES:
        stages.RUNNERS[stage](run)
    return run


@pytest.fixture
def demo_project_copy(tmp_path) -> Path:
    """A writable copy of the demo dbt project."""
    target = tmp_path / "dbt_project"
    shutil.copytree(REPO / "demo" / "dbt_project", target,
                    ignore=shutil.ignore_patterns("target", "logs", "*.duckdb", ".user.yml"))
    return target


def run_all_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`run_all.py` in a subprocess, as a user would start it."""
    return subprocess.run([sys.executable, str(REPO / "run_all.py"), "--no-progress", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=600)


def as_sets(items: list[str]) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


@pytest.fixture(scope="session")
def published_demo_run(demo_target, tmp_path_factory) -> Path:
    """The whole chain on the demo through `run_all.py` (real kernels, HTML): the run folder."""
    runs = tmp_path_factory.mktemp("published") / "runs"
    result = run_all_cli("--params", str(DEMO_PARAMS), *as_sets(demo_overrides(demo_target, runs)))
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    return run_dir


# -- Mode API stand-in ------------------------------------------------------------------
MODE_DEMO = REPO / "demo" / "mode_workspace"
MODE_TOKEN = "tok-5f1d0c8a9e2b"
MODE_SECRET = "sec-Zq7pW3xK9vR2mN8tL4hY"


@pytest.fixture
def mode_standin():
    """The demo workspace served over loopback by the Mode stand-in (30 reports a page)."""
    from lineage_utils.testing import ModeStandIn

    with ModeStandIn(MODE_DEMO, token=MODE_TOKEN, secret=MODE_SECRET) as standin:
        yield standin


def mode_client(standin, **options):
    """A client for a stand-in: no rate limit, short timeouts and fast backoff unless told."""
    from lineage_utils.bi.mode.client import ModeClient

    settings = {"rate_limit": 0, "timeout": 5.0, "max_retries": 3, "backoff": 0.01, "backoff_max": 0.05,
                **options}
    return ModeClient(standin.base_url, standin.workspace, MODE_TOKEN, MODE_SECRET, **settings)
