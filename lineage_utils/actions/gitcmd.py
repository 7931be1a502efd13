"""Real ``git`` through subprocess, with one environment policy and errors that name the command.

Local commands (``worktree``, ``add``, ``commit``, ``format-patch``, ...) read the
repository's own config only: the user's global and system config are switched off
(``GIT_CONFIG_GLOBAL``/``GIT_CONFIG_NOSYSTEM``), hooks are off (``core.hooksPath``),
signing is off, pathspecs are literal, so what we commit and the patch we render do
not depend on who runs us. Remote commands (``push``, ``ls-remote``) keep the user's
config -- that is where credential helpers and SSH settings live -- but never prompt
(``GIT_TERMINAL_PROMPT=0``). Variables that point git at another repository
(``GIT_DIR``, ``GIT_INDEX_FILE``, ...) are never inherited. Credentials in remote URLs
are masked in every message.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Mapping, Sequence

from lineage_utils.errors import MetapipelineError

GIT_TIMEOUT_S = 120
REMOTE_TIMEOUT_S = 300

_LOCATING = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
             "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_PREFIX", "GIT_CONFIG")
_ENV_CONFIG = ("GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT")
_ENV_CONFIG_PAIRS = ("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_")
_LOCAL_CONFIG = ("core.hooksPath=" + os.devnull, "commit.gpgsign=false", "tag.gpgsign=false",
                 "log.showSignature=false", "core.quotePath=false")
_URL_CREDENTIALS = re.compile(r"(\w+://)[^/\s@]+@")


class GitError(MetapipelineError):
    """A git command failed; names the command, the folder and git's own message."""


def mask_credentials(text: str) -> str:
    """``https://user:token@host/x`` -> ``https://***@host/x`` everywhere in ``text``."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def git_env(*, remote: bool = False, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of one git call (see the module docstring)."""
    env = {k: v for k, v in os.environ.items() if k not in _LOCATING}
    env.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_LITERAL_PATHSPECS="1", GIT_OPTIONAL_LOCKS="0")
    if not remote:  # config from the environment is the user's too; a remote call keeps it (credentials)
        env = {k: v for k, v in env.items() if k not in _ENV_CONFIG and not k.startswith(_ENV_CONFIG_PAIRS)}
        env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    env.update(extra or {})
    return env


def _tail(result: subprocess.CompletedProcess[str], lines: int = 6) -> str:
    text = (result.stderr or "").strip() or (result.stdout or "").strip()
    kept = text.splitlines()[-lines:]
    return mask_credentials(" | ".join(line.strip() for line in kept)) or f"exit status {result.returncode}"


def run_git(cwd: Path, args: Sequence[str], *, remote: bool = False, env: Mapping[str, str] | None = None,
            stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``git -C cwd <args>``; raises GitError (with git's message) when it fails and ``check``."""
    if shutil.which("git") is None:
        raise GitError("git is not installed: the cleanup branch needs the git command line")
    config = [] if remote else [part for kv in _LOCAL_CONFIG for part in ("-c", kv)]
    command = ["git", *config, "-C", str(cwd), *args]
    try:
        result = subprocess.run(command, input=stdin, capture_output=True, text=True, encoding="utf-8",
                                errors="surrogateescape", env=git_env(remote=remote, extra=env),
                                timeout=REMOTE_TIMEOUT_S if remote else GIT_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} in {cwd} timed out after {exc.timeout:.0f} s") from None
    if check and result.returncode != 0:
        shown = " ".join(mask_credentials(a) for a in args[:4])
        raise GitError(f"git {shown} in {cwd} failed: {_tail(result)}")
    return result


def git_out(cwd: Path, *args: str, **kwargs) -> str:
    """The stripped stdout of a git command that must succeed."""
    return run_git(cwd, args, **kwargs).stdout.strip()


def rev(cwd: Path, spec: str) -> str | None:
    """The object id ``spec`` names (``rev-parse --verify``), or None when it names nothing."""
    result = run_git(cwd, ["rev-parse", "--verify", "--quiet", "--end-of-options", spec], check=False)
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def is_ancestor(cwd: Path, older: str, newer: str) -> bool:
    """Whether commit ``older`` is ``newer`` or one of its ancestors (False when ``older`` is unknown here)."""
    if rev(cwd, f"{older}^{{commit}}") is None:
        return False
    return run_git(cwd, ["merge-base", "--is-ancestor", older, newer], check=False).returncode == 0


def remote_head(cwd: Path, remote: str, ref: str) -> str | None:
    """The commit ``ref`` (a full ref name) points at on ``remote``, or None when the remote has no such ref."""
    out = git_out(cwd, "ls-remote", "--end-of-options", remote, ref, remote=True)
    for line in out.splitlines():
        sha, _, name = line.partition("\t")
        if name == ref:
            return sha
    return None
