"""Real git for the action tests: a command helper and a user's repository with a bare remote."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

IGNORED = shutil.ignore_patterns("target", "logs", "*.duckdb", "*.duckdb.wal", ".user.yml")


def git(cwd: Path, *args: str, check: bool = True) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00"}
    result = subprocess.run(["git", "-c", "user.name=u", "-c", "user.email=u@example.com", "-C", str(cwd), *args],
                            env=env, capture_output=True, text=True)
    if check:
        assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


def user_repo(tmp_path: Path, project: Path, subdir: str = "dbt") -> dict:
    """``project`` copied into ``<tmp>/repo/<subdir>``, committed on ``main`` and pushed to a bare ``origin``.

    The bare remote logs every push it receives in ``<tmp>/pushes.log`` (a real
    ``post-receive`` hook), so a test can count pushes.
    """
    top = tmp_path / "repo"
    shutil.copytree(project, top / subdir, ignore=IGNORED)
    (top / "README.md").write_text("the user's repository\n")
    git(top, "init", "-q", "-b", "main")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "the project")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    pushes = tmp_path / "pushes.log"
    hook = remote / "hooks" / "post-receive"
    hook.write_text(f"#!/bin/sh\ncat >> '{pushes}'\n")
    hook.chmod(0o755)
    git(top, "remote", "add", "origin", str(remote))
    git(top, "push", "-q", "origin", "main")
    pushes.unlink(missing_ok=True)
    return {"top": top, "project": top / subdir, "remote": remote, "pushes": pushes, "tmp": tmp_path}


def pushes(repo: dict) -> list[str]:
    """``<old> <new> <ref>`` of each ref update the remote received since the repository was made."""
    path = repo["pushes"]
    return path.read_text().splitlines() if path.exists() else []


def remote_branches(repo: dict) -> dict[str, str]:
    out = git(repo["remote"], "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/")
    return dict(line.split(" ", 1) for line in out.splitlines())


def user_state(top: Path) -> tuple[str, str, str]:
    return (git(top, "status", "--porcelain=v1", "--untracked-files=all"), git(top, "symbolic-ref", "HEAD"),
            git(top, "rev-parse", "HEAD"))
