"""The project's own files: environment.yml mirrors pyproject, notebooks are stripped, layout holds."""

from __future__ import annotations

import json
import tomllib

import pytest

from lineage_utils.params import load_yaml


def test_environment_yml_mirrors_pyproject(repo_root):
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = set(project["dependencies"]) | set(extras["test"]) | set(extras["dagster"]) | set(extras["lab"])  # make test
    env = load_yaml((repo_root / "environment.yml").read_text(), "environment.yml")
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = {p for p in pip if not p.startswith("-e")}
    assert listed == wanted
    assert f"python{project['requires-python']}" in env["dependencies"]


@pytest.mark.parametrize("name", ["01_crawl", "02_merge", "03_rank", "04_cleanup"])
def test_notebooks_committed_without_outputs(repo_root, name):
    notebook = json.loads((repo_root / "notebooks" / f"{name}.ipynb").read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, name
    assert "widgets" not in notebook["metadata"]


@pytest.mark.parametrize("name", ["01_crawl", "02_merge", "03_rank", "04_cleanup"])
def test_notebooks_are_thin(repo_root, name):
    notebook = json.loads((repo_root / "notebooks" / f"{name}.ipynb").read_text())
    code = [("".join(c["source"]), c["metadata"].get("tags", [])) for c in notebook["cells"] if c["cell_type"] == "code"]
    assert sum("parameters" in tags for _, tags in code) == 1
    for source, _ in code:
        assert len(source.splitlines()) <= 5
        for word in ("def ", "class ", "for ", "try:", "while "):
            assert word not in source, f"{name}: logic in a cell: {source!r}"


def test_ci_calls_the_readme_test_command(repo_root):
    assert "make test" in (repo_root / ".ci" / "run").read_text()
    readme = (repo_root / "README.md").read_text()
    assert "make run" in readme and "make test" in readme


def test_readme_worked_examples_match_the_demo(repo_root, demo_expected):
    readme = (repo_root / "README.md").read_text()
    section = readme.split("## Worked examples", 1)[1].split("\n## ", 1)[0]
    assert f"lists {len(demo_expected['stale_reports'])}" in section
    assert f"**Orphan models** — {len(demo_expected['orphan_models'])}" in section
    assert f"({len(demo_expected['generated_exposures'])} on the demo)" in section
    for uid in list(demo_expected["orphan_models"]) + list(demo_expected["protected_models"]):
        assert uid.rsplit(".", 1)[-1] in section, uid
