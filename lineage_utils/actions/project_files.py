"""Files of the dbt project as the cleanup patch sees them: which paths it may touch, how one is read, one change.

A path from the manifest is refused (``refused_path``) before it is read or deleted
when it could leave the project; ``read_project_file`` reads one that is not, reporting
what could not be read as a problem instead of raising; a ``FileChange`` is one file's
text before and after (None: the file is deleted). ``actions.patch`` re-exports these,
so its callers keep importing them from there.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath


def refused_path(project_dir: Path, path: str) -> str | None:
    """Why ``path`` (relative to the dbt project) may not be read or deleted, or None when it may.

    Refused: an absolute path, a ``..`` part, control characters, and a path whose real
    location (symlinks followed) is not inside the project's real location.
    """
    if not path.isprintable():
        return "the path contains control characters"
    if PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute() or PureWindowsPath(path).drive:
        return "the path is absolute"
    if ".." in PurePosixPath(path.replace("\\", "/")).parts:
        return "the path climbs out of the dbt project ('..')"
    root = project_dir.resolve()
    try:
        real = (root / path).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        return f"the path cannot be resolved ({exc.__class__.__name__})"
    if not real.is_relative_to(root):
        return "the path leads out of the dbt project through a symlink"
    return None


@dataclass(frozen=True)
class FileChange:
    """One file of the patch: its text before, and after (None: the file is deleted; ``created``: it is new)."""

    path: str
    before: str
    after: str | None
    mode: str = "100644"
    created: bool = False


def read_project_file(project_dir: Path, path: str, problems: list[str]) -> tuple[str, str] | None:
    """(text, git mode) of a project file, or None (with a problem when it cannot be read)."""
    why = refused_path(project_dir, path)
    if why:
        problems.append(f"{path}: not read: {why}")
        return None
    source = project_dir.resolve() / path
    if not source.is_file():
        problems.append(f"{path}: not found in the dbt project")
        return None
    try:
        with source.open(encoding="utf-8", newline="") as handle:  # line ends as they are: CRLF stays CRLF
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot be read ({exc.__class__.__name__})")
        return None
    mode = "100755" if source.stat().st_mode & stat.S_IXUSR else "100644"
    return text, mode


def planned_text(project_dir: Path, path: str, planned: dict[str, FileChange],
                 problems: list[str]) -> tuple[str, str, str] | None:
    """(original text, mode, text as already planned) of ``path``, or None when it is deleted or unreadable.

    Lets a second edit of a file start where the first left it: the patch then holds
    one ``FileChange`` per file, its ``before`` the file as it is.
    """
    earlier = planned.get(path)
    if earlier is not None:
        return None if earlier.after is None else (earlier.before, earlier.mode, earlier.after)
    found = read_project_file(project_dir, path, problems)
    return None if found is None else (found[0], found[1], found[0])
