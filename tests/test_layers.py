"""The layout of DESIGN.md: layers import only downward, no cycles, no module past 400 lines."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "lineage_utils"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the package found first under ``root`` (its pyproject.toml contracts)."""
    if not LINT_IMPORTS.is_file():
        pytest.skip(f"{LINT_IMPORTS} is missing: install the test extra (`make test` does)")
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)}, timeout=300)


def test_the_package_keeps_its_layers():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


@pytest.fixture
def package_copy(tmp_path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "lineage_utils", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(("module", "wrong", "broken"), [
    ("lineage/orphans.py", "from lineage_utils.publish import views", "Layers"),  # an analysis importing display
    ("errors.py", "import lineage_utils.stages", "Layers"),  # the foundation importing the chain
    ("bi/adapter.py", "import lineage_utils.bi.mode.adapter", "Mode sits on the BI seam"),  # the seam importing Mode
    ("sql/tables.py", "import lineage_utils.sql.reads", "No import cycles"),  # reads imports tables
])
def test_a_wrong_import_breaks_the_build(package_copy, module, wrong, broken):
    path = package_copy / "lineage_utils" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{wrong}  # deliberately wrong\n", encoding="utf-8")
    result = lint_imports(package_copy)
    assert result.returncode != 0, result.stdout[-2000:]
    assert re.search(rf"{re.escape(broken)}[^\n]*\n?[^\n]*BROKEN", result.stdout), result.stdout[-3000:]


def test_a_new_top_level_module_must_declare_its_layer(package_copy):
    (package_copy / "lineage_utils" / "misc.py").write_text('"""Somewhere without a layer."""\n')
    result = lint_imports(package_copy)
    assert result.returncode != 0 and "misc" in result.stdout + result.stderr


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_400_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 400, f"{path.relative_to(REPO)} has {lines} lines: split it by reason to change"


ONE_OF_EACH = {
    "HAL `_embedded` helper": r"def embedded\(",
    "creator username from a link": r"rsplit\([\"']/[\"'], 1\)\[-1\]",
    "malformed-JSON reader": r"malformed JSON at line",
    "report id building": r"f[\"']mode\.report\.",
    "JSON value normaliser": r"def (to_jsonable|_jsonable|_json_default)\(",
    "first-line helper": r"def (first_line|_first_line)\(|splitlines\(\)\[0\]",
}


@pytest.mark.parametrize("helper", sorted(ONE_OF_EACH))
def test_each_helper_exists_once(helper):
    pattern = re.compile(ONE_OF_EACH[helper])
    places = [f"{p.relative_to(REPO)}:{n}" for p in sorted(PACKAGE.rglob("*.py"))
              for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert len(places) == 1, f"{helper} is written {len(places)} times: {places}"


def test_only_the_dagster_subpackage_imports_dagster():
    """The dagster extra is optional: the base install (run_all.py, the notebooks) must never need it."""
    needs = re.compile(r"^\s*(import dagster\b|from dagster\b)", re.M)
    importers = sorted(str(p.relative_to(REPO)) for p in [*PACKAGE.rglob("*.py"), REPO / "run_all.py"]
                       if needs.search(p.read_text(encoding="utf-8")))
    assert importers and all(name.startswith("lineage_utils/dagster/") for name in importers), importers
    done = subprocess.run([sys.executable, "-c", "import sys; sys.modules['dagster'] = None; "
                           "import lineage_utils.runner, lineage_utils.stages, run_all"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
