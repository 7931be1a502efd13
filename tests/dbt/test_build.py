"""Building a dbt project: only when stale, never writing into the project, clear failures."""

from __future__ import annotations

import os
import time

import pytest

from lineage_utils.dbt.build import ensure_built, is_stale
from lineage_utils.errors import ArtifactError


def test_staleness_follows_project_files(tmp_path):
    project, target = tmp_path / "p", tmp_path / "t"
    (project / "models").mkdir(parents=True)
    (project / "models" / "a.sql").write_text("select 1")
    target.mkdir()
    assert is_stale(project, target)
    for name in ("manifest.json", "run_results.json"):
        (target / name).write_text("{}")
    assert not is_stale(project, target)
    later = time.time() + 5
    os.utime(project / "models" / "a.sql", (later, later))
    assert is_stale(project, target)


def test_not_a_project_names_the_param(tmp_path):
    with pytest.raises(ArtifactError, match="'dbt.project_dir': no dbt_project.yml"):
        ensure_built(tmp_path, tmp_path / "t")


@pytest.mark.slow
def test_broken_project_fails_with_dbt_output(demo_project_copy, tmp_path):
    (demo_project_copy / "models" / "broken.sql").write_text("select * from {{ ref('no_such_model') }}")
    before = sorted(demo_project_copy.rglob("*"))
    with pytest.raises(ArtifactError, match="no_such_model"):
        ensure_built(demo_project_copy, tmp_path / "target")
    assert sorted(demo_project_copy.rglob("*")) == before  # nothing written into the project


@pytest.mark.slow
def test_fresh_demo_build_is_not_rebuilt(demo_target, repo_root):
    assert (demo_target / "manifest.json").is_file() and (demo_target / "demo.duckdb").is_file()
    assert not ensure_built(repo_root / "demo" / "dbt_project", demo_target)  # fresh: no rebuild
