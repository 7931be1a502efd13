"""docs/RELIABILITY.md names real tests: every ``tests/...py::test_name`` in it is defined there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "RELIABILITY.md"
_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
_CASE_ROW = re.compile(r"^\| (\d+)\.(\d+) \|", re.MULTILINE)


def _references() -> list[tuple[str, str]]:
    return _REFERENCE.findall(DOC.read_text(encoding="utf-8"))


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")}


def test_the_document_names_tests():
    assert len(_references()) >= 40


@pytest.mark.parametrize("path, name", _references(), ids=lambda value: str(value))
def test_every_named_test_exists(path, name):
    file = REPO / path
    assert file.is_file(), f"{DOC.name} names {path}, which does not exist"
    assert name in _test_names(file), f"{DOC.name} names {path}::{name}, which is not defined there"


def test_every_defect_of_the_hostile_input_review_has_a_row():
    """The seventeen defects of the review each have at least one numbered case, each with a test."""
    text = DOC.read_text(encoding="utf-8")
    cases = {int(major) for major, _ in _CASE_ROW.findall(text)}
    assert cases == set(range(1, 18))
    for row in (line for line in text.splitlines() if _CASE_ROW.match(line)):
        assert _REFERENCE.search(row), f"case without a test: {row[:80]}"
