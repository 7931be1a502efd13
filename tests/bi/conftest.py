"""Fixtures of the BI side's tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def demo_copy(tmp_path, repo_root) -> Path:
    """A writable copy of the demo's Mode workspace snapshot."""
    folder = tmp_path / "ws"
    shutil.copytree(repo_root / "demo" / "mode_workspace", folder)
    return folder
