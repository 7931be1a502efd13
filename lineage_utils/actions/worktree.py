"""The model-removal branch: a separate git worktree, the deletion committed, real ``dbt parse``, push.

``build_cleanup_branch`` never touches the user's working tree or index (safety
invariant 3). It adds a ``git worktree`` of the repository in a folder of its own
(``workdir``, else a temp folder; refused inside the user's working tree unless git
ignores it), detached at the base commit; writes each file change there (a path must
stay inside the worktree's dbt project, a symlink is never written through, and a
file must still read as the plan read it, else the plan was made on other content);
commits with metapipeline's own identity and the run's ``now`` as author and committer
date; and only then points the new branch ``metapipeline/cleanup-<run_id>`` at the
commit (created, never moved). Real ``dbt parse`` runs in the worktree's project; the
branch is pushed only when it passes, never forced, and a remote branch of that name
holding anything our commit does not contain is refused before dbt runs. The worktree
is removed afterwards (ours only) unless ``keep_worktree``.

Re-running a run id is idempotent: the same content on the same base reuses the
branch (no second commit; and since identity, dates and message are fixed, a deleted
branch is rebuilt with the same commit id); other content is refused.

The dry-run patch is real ``git format-patch --stdout`` of ``<base>..<branch>``, made
deterministic: ``--zero-commit`` (no commit id in the ``From`` line),
``--no-signature`` (no git version), full blob ids, no rename detection, fixed
prefixes and diff algorithm, and the user's global and system git config off
(``actions.gitcmd``). Two dry runs of one plan on one base differ only where the run
id and ``now`` (the ``Date:`` header) do.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Iterable

from lineage_utils.actions.gitcmd import GitError, git_out, is_ancestor, remote_head, rev, run_git
from lineage_utils.actions.messages import BRANCH_PREFIX, commit_message, dbt_message, sanitise_name  # noqa: F401
from lineage_utils.actions.patch import Deletion, FileChange, refused_path
from lineage_utils.dbt import build as dbt_build
from lineage_utils.errors import UnsafeActionError

logger = logging.getLogger(__name__)

IDENTITY = ("metapipeline", "metapipeline@invalid")
"""Author and committer of every cleanup commit (``.invalid``: RFC 2606, never a real mailbox)."""
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_RUN_ID_TIME = re.compile(r"(\d{8}T\d{6}Z)(?:-\d+)?")


@dataclass(frozen=True)
class BranchResult:
    """What building the cleanup branch did.

    ``ok``: committed, parsed (when asked) and pushed (when asked). ``base`` is the
    commit the branch starts from, ``commit`` the branch's commit (None when the
    deletion changes nothing), ``reused`` whether the branch already held it.
    ``parsed`` is None when dbt parse was not run. ``message`` says why ``ok`` is
    False (dbt's own lines when parse failed). ``patch`` is ``git format-patch``
    output of ``base..branch``; ``files`` the repository-relative paths it changes.
    ``worktree`` is set only when it was kept.
    """

    ok: bool
    branch: str
    base: str
    commit: str | None
    patch: str
    files: tuple[str, ...] = ()
    reused: bool = False
    parsed: bool | None = None
    pushed: bool = False
    pushed_sha: str | None = None
    remote: str | None = None
    message: str = ""
    worktree: Path | None = None


# -- names and messages (pure) ---------------------------------------------------------------
def cleanup_branch_name(run_id: str, repo_dir: Path | None = None, prefix: str = BRANCH_PREFIX) -> str:
    """``<prefix><run_id>`` (``metapipeline/cleanup-<run_id>``), refused unless the run id is plain and git
    accepts the name."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id) or run_id.endswith((".", ".lock")) \
            or ".." in run_id:
        raise UnsafeActionError(f"run id {run_id!r} cannot name a cleanup branch "
                                "(letters, digits, '.', '_' and '-' only, at most 100)")
    name = prefix + run_id
    checked = run_git(repo_dir or Path.cwd(), ["check-ref-format", "--branch", name], check=False)
    if checked.returncode != 0 or checked.stdout.strip() != name:
        raise UnsafeActionError(f"git refuses the branch name {name!r} (git check-ref-format --branch)")
    return name


def run_time(run_id: str, now: datetime | None) -> datetime:
    """The commit date: ``now``, else the time a timestamp run id names, else the current time (UTC)."""
    if now is None:
        match = _RUN_ID_TIME.fullmatch(run_id)
        now = (datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc) if match
               else datetime.now(timezone.utc))
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc).replace(microsecond=0)


def commit_env(now: datetime) -> dict[str, str]:
    """Identity and dates of the cleanup commit, independent of the user's git config."""
    when = now.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return {"GIT_AUTHOR_NAME": IDENTITY[0], "GIT_AUTHOR_EMAIL": IDENTITY[1], "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_NAME": IDENTITY[0], "GIT_COMMITTER_EMAIL": IDENTITY[1], "GIT_COMMITTER_DATE": when}


# -- the repository --------------------------------------------------------------------------
def locate(repo_dir: Path | None, project_dir: Path) -> tuple[Path, PurePosixPath]:
    """(the repository's top folder, the dbt project's path inside it)."""
    project = Path(project_dir).resolve()
    if not (project / "dbt_project.yml").is_file():
        raise UnsafeActionError(f"no dbt_project.yml in {project_dir}: not a dbt project")
    start = Path(repo_dir).resolve() if repo_dir else project
    if not start.is_dir():
        raise UnsafeActionError(f"git.repo_dir {repo_dir} is not a folder")
    top = Path(git_out(start, "rev-parse", "--show-toplevel")).resolve()
    if not project.is_relative_to(top):
        raise UnsafeActionError(f"the dbt project {project} is not inside the repository {top}")
    return top, PurePosixPath(project.relative_to(top).as_posix())


def _work_folder(top: Path, workdir: Path | None, run_id: str) -> Path:
    """A new empty folder of ours for the worktree, outside the user's working tree (or git-ignored)."""
    parent = Path(workdir or tempfile.gettempdir()).resolve()
    if parent.is_relative_to(top):
        rel = parent.relative_to(top).as_posix()
        ignored = rel != "." and run_git(top, ["check-ignore", "-q", "--", rel], check=False).returncode == 0
        if not ignored:
            raise UnsafeActionError(f"the work folder {parent} is inside the working tree of {top} and git does "
                                    "not ignore it: the worktree must stay out of the user's working tree")
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"metapipeline-cleanup-{run_id}-", dir=parent))


def _base_commit(top: Path, base_branch: str, remote: str | None) -> str:
    """The commit ``base_branch`` names (local, then the remote's); ``HEAD``: the current commit."""
    if base_branch == "HEAD":
        return git_out(top, "rev-parse", "--verify", "HEAD^{commit}")
    candidates = [f"refs/heads/{base_branch}"] + ([f"refs/remotes/{remote}/{base_branch}"] if remote else [])
    for ref in candidates:
        sha = rev(top, f"{ref}^{{commit}}")
        if sha:
            return sha
    raise UnsafeActionError(f"git.base_branch {base_branch!r}: no such branch in {top}")


def _check_remote(top: Path, remote: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]*", remote) or remote not in git_out(top, "remote").split():
        raise UnsafeActionError(f"git.remote {remote!r} is not a remote of {top} (git remote)")


# -- the worktree ----------------------------------------------------------------------------
def _read_raw(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:  # line endings as they are
        return handle.read()


def _planned_paths(wt_project: Path, changes: Iterable[FileChange]) -> list[tuple[FileChange, Path]]:
    """Each change with its file in the worktree; refuses a path out of the project and changed content."""
    planned, stale = [], []
    for change in sorted(changes, key=lambda c: c.path):
        why = refused_path(wt_project, change.path)
        target = wt_project / change.path
        if why is None and target.is_symlink():
            why = "the path is a symlink (never written through)"
        if why:
            raise UnsafeActionError(f"cleanup branch: {change.path!r} refused: {why}")
        current = _read_raw(target) if target.is_file() else None
        if (current is None and change.before) or \
                (current is not None and current.replace("\r\n", "\n") != change.before.replace("\r\n", "\n")):
            stale.append(change.path)
        planned.append((change, target))
    if stale:
        raise UnsafeActionError("cleanup branch: the base differs from what the deletion was planned on "
                                f"(plan again on the base branch): {', '.join(stale[:5])}"
                                + (f" and {len(stale) - 5} more" if len(stale) > 5 else ""))
    return planned


def _write(planned: list[tuple[FileChange, Path]]) -> None:
    for change, target in planned:
        if change.after is None:
            target.unlink(missing_ok=True)
            continue
        after = change.after
        if target.is_file() and "\r\n" in _read_raw(target) and "\r\n" not in after:
            after = after.replace("\n", "\r\n")  # keep the file's line endings
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(after, encoding="utf-8", newline="")


def _remove_worktree(top: Path, worktree: Path) -> None:
    try:
        if (worktree / ".git").exists():
            run_git(top, ["worktree", "remove", "--force", "--", str(worktree)])
    except GitError as exc:
        logger.warning("cleanup branch: could not remove the worktree %s: %s", worktree, exc)
    run_git(top, ["worktree", "prune"], check=False)


def _parse(wt_project: Path, user_project: Path) -> tuple[bool, str]:
    """Real ``dbt parse`` of the worktree's project: (passed, dbt's message when it failed)."""
    target = wt_project / "target"
    packages = Path(user_project) / "dbt_packages"
    if packages.is_dir() and not (wt_project / "dbt_packages").exists():
        (wt_project / "dbt_packages").symlink_to(packages.resolve(), target_is_directory=True)
    if (wt_project / "profiles.yml").is_file():
        result = dbt_build.run_dbt(wt_project, target, "parse", "--no-partial-parse")
    else:  # the user's profiles.yml: beside their project (untracked), else dbt's default (~/.dbt)
        own = [] if not (Path(user_project) / "profiles.yml").is_file() else ["--profiles-dir", str(user_project)]
        command = [dbt_build.dbt_executable(), "parse", "--no-partial-parse", "--project-dir", str(wt_project),
                   *own, "--target-path", str(target), "--log-path", str(target / "logs")]
        result = subprocess.run(command, cwd=wt_project, env=dbt_build.dbt_env(target), capture_output=True,
                                text=True, check=False)
    if result.returncode == 0:
        return True, ""
    return False, dbt_message(result.stdout + "\n" + result.stderr)


def format_patch(top: Path, base: str, commit: str) -> str:
    """``git format-patch --stdout base..commit``, deterministic (see the module docstring)."""
    return run_git(top, ["format-patch", "--stdout", "--zero-commit", "--no-signature", "--no-renames",
                         "--full-index", "--no-color", "--no-numbered", "--no-thread", "--diff-algorithm=myers",
                         "--src-prefix=a/", "--dst-prefix=b/", "--stat=80", "-U3", f"{base}..{commit}"]).stdout


def _commit(top: Path, worktree: Path, branch: str, base: str, paths: list[str], message: str,
            now: datetime) -> tuple[str | None, bool]:
    """Stage ``paths`` and commit, or reuse the branch holding that tree: (commit or None, reused)."""
    run_git(worktree, ["add", "-A", "--", *paths])
    tree = git_out(worktree, "write-tree")
    existing = rev(top, f"refs/heads/{branch}^{{commit}}")
    if existing:
        if rev(top, f"{existing}^{{tree}}") == tree and rev(top, f"{existing}^") == base:
            return existing, True
        raise UnsafeActionError(f"branch {branch} already exists with other content or another base: "
                                "delete it or use another run id (nothing was changed)")
    if tree == rev(top, f"{base}^{{tree}}"):
        return None, False
    run_git(worktree, ["commit", "--no-verify", "-q", "-F", "-"], stdin=message, env=commit_env(now))
    commit = git_out(worktree, "rev-parse", "HEAD")
    run_git(top, ["update-ref", f"refs/heads/{branch}", commit, "0" * len(commit)])  # create, never move
    run_git(worktree, ["symbolic-ref", "HEAD", f"refs/heads/{branch}"])
    return commit, False


def _push(top: Path, remote: str, branch: str, commit: str, remote_sha: str | None) -> str:
    """Push the branch (never forced); the commit the remote branch then points at."""
    if remote_sha != commit:
        run_git(top, ["push", "--porcelain", "--end-of-options", remote, f"refs/heads/{branch}:refs/heads/{branch}"],
                remote=True)
    pushed = remote_head(top, remote, f"refs/heads/{branch}")
    if pushed != commit:
        raise GitError(f"git push of {branch} to {remote}: the remote branch is at {pushed}, not {commit}")
    return pushed


def build_cleanup_branch(repo_dir: Path | None, project_dir: Path, base_branch: str, run_id: str,
                         deletion: Deletion, message_models: Iterable[str], *, remote: str | None = None,
                         push: bool = False, parse: bool = True, workdir: Path | None = None,
                         now: datetime | None = None, keep_worktree: bool = False,
                         keep_branch: bool = True, branch_prefix: str = BRANCH_PREFIX,
                         message: str | None = None) -> BranchResult:
    """Commit ``deletion`` on a new branch ``metapipeline/cleanup-<run_id>`` from ``base_branch``, check it
    with real ``dbt parse`` and, when ``push``, push it to ``remote`` (see the module docstring).

    ``repo_dir`` empty: the repository ``project_dir`` is in. ``base_branch`` ``HEAD``: the
    repository's current commit (a dry run where no such branch exists). ``now`` dates the commit
    (default: the run id's timestamp). ``keep_branch=False`` (a dry run that only wants
    the patch) deletes a branch this call created once the patch is made. Raises
    UnsafeActionError when a safety check refuses (nothing pushed) and GitError when git fails.
    ``branch_prefix`` names another kind of branch (the exposures PR's ``metapipeline/exposures-``);
    ``message`` replaces the model-removal commit message (``commit_message``).
    """
    if push and not parse:
        raise UnsafeActionError("a cleanup branch is pushed only after it passes dbt parse (parse=False, push=True)")
    if push and not keep_branch:
        raise UnsafeActionError("a pushed cleanup branch is kept (keep_branch=False, push=True)")
    if push and not remote:
        raise UnsafeActionError("push=True needs a remote (git.remote)")
    top, project_rel = locate(repo_dir, project_dir)
    branch = cleanup_branch_name(run_id, top, branch_prefix)
    if remote:
        _check_remote(top, remote)
    base = _base_commit(top, base_branch, remote)
    when = run_time(run_id, now)
    folder = _work_folder(top, workdir, run_id)
    worktree = folder / "worktree"
    created = False
    try:
        run_git(top, ["worktree", "add", "--detach", "-q", "--", str(worktree), base])
        wt_project = worktree / project_rel
        planned = _planned_paths(wt_project, deletion.changes)
        _write(planned)
        paths = [(project_rel / c.path).as_posix() for c, _ in planned]
        commit, reused = _commit(top, worktree, branch, base, paths, message or commit_message(run_id, message_models),
                                 when)
        if commit is None:
            return BranchResult(ok=False, branch=branch, base=base, commit=None, patch="", remote=remote,
                                message=f"the deletion changes no file on {base_branch}: no branch made")
        created = not reused
        patch = format_patch(top, base, commit)
        result = BranchResult(ok=True, branch=branch, base=base, commit=commit, patch=patch, files=tuple(paths),
                              reused=reused, remote=remote)
        remote_sha = None
        if push:
            remote_sha = remote_head(top, remote, f"refs/heads/{branch}")
            if remote_sha and remote_sha != commit and not is_ancestor(top, remote_sha, commit):
                raise UnsafeActionError(f"{remote} already has a branch {branch} at {remote_sha[:12]} that "
                                        f"{commit[:12]} does not contain: not pushed (never forced)")
        if parse:
            passed, why = _parse(wt_project, Path(project_dir))
            result = replace(result, parsed=passed, ok=passed, message=why)
            if not passed:
                logger.warning("cleanup branch %s: dbt parse failed, not pushed: %s", branch, " | ".join(why.splitlines()))
                return _kept(result, worktree, keep_worktree)
        if push:
            result = replace(result, pushed=True, pushed_sha=_push(top, remote, branch, commit, remote_sha))
        return _kept(result, worktree, keep_worktree)
    finally:
        if created and not keep_branch:
            run_git(top, ["update-ref", "-d", f"refs/heads/{branch}", commit], check=False)
        if not keep_worktree:
            _remove_worktree(top, worktree)
            shutil.rmtree(folder, ignore_errors=True)


def _kept(result: BranchResult, worktree: Path, keep: bool) -> BranchResult:
    return replace(result, worktree=worktree) if keep else result
