"""What deleting orphan models takes with it, as file changes and one unified diff (dry run).

Deleting a model removes its ``.sql`` file, its entry in the YAML properties file that
documents it (``patch_path``), and every test that touches it: a test declared on the
model goes with its entry; a test declared elsewhere that names it (a
``relationships`` test with ``to: ref('it')`` on a surviving model or source, a custom
generic test over two models) is removed from that YAML file; a singular test that
reads it (its own ``.sql`` file) is deleted. So the patch never leaves a test pointing
at a deleted model. Every node of the dbt semantic layer downstream of a deleted model
goes too (``downstream_semantic``): the semantic model over it, the metrics over that
semantic model, the derived metrics over those, the saved queries over any of them,
each removed from its section of the YAML file that declares it (the manifest's
``original_file_path``). Downstream of an orphan there is no consumer, so they are
dead, and ``dbt parse`` refuses a semantic model whose model is gone. YAML is edited
with ruamel.yaml round-trip (``actions.yaml_edit``).

Files are read, never written; a path from the manifest that leaves the project is
refused (``refused_path``) and never read. What could not be found is reported in
``Deletion.problems`` (the cleanup branch's real ``dbt parse`` would then fail).
"""

from __future__ import annotations

import difflib
import logging
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Iterable, Mapping

from lineage_utils.actions.yaml_edit import edit_properties
from lineage_utils.dbt.semantic import SEMANTIC_SECTIONS, SemanticNode
from lineage_utils.dbt.tests_of import DbtTest
from lineage_utils.lineage.orphans import Orphan

logger = logging.getLogger(__name__)


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
    """One file of the patch: its text before, and after (None: the file is deleted)."""

    path: str
    before: str
    after: str | None
    mode: str = "100644"


@dataclass(frozen=True)
class Deletion:
    """The file changes that delete a set of models, and the tests that go with each."""

    changes: tuple[FileChange, ...]
    models: tuple[str, ...]
    """The models deleted (orphans whose file is inside the project and exists)."""
    tests: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Model id -> the ids of the tests removed with it (its own and those that name it)."""
    problems: tuple[str, ...] = ()
    semantic: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Model id -> the ids of the semantic-layer nodes removed with it (those reading it, directly or not)."""


def touching(tests: Iterable[DbtTest], models: set[str]) -> dict[str, list[DbtTest]]:
    """Model id -> the tests that touch it (declared on it or naming it), for the models in ``models``."""
    out: dict[str, list[DbtTest]] = {}
    for test in tests:
        for node in sorted({*test.touches, *([test.attached_node] if test.attached_node else [])} & models):
            out.setdefault(node, []).append(test)
    return out


_SECTION_OF = {kind: section for section, kind in SEMANTIC_SECTIONS.items()}
"""Semantic node kind -> the top-level YAML key that declares it."""


def downstream_semantic(semantic: Mapping[str, SemanticNode], models: set[str]) -> dict[str, list[SemanticNode]]:
    """Model id -> the semantic-layer nodes downstream of it (through other semantic nodes), for ``models``."""
    readers: dict[str, list[str]] = {}
    for node in semantic.values():
        for up in node.depends_on:
            readers.setdefault(up, []).append(node.unique_id)
    out: dict[str, list[SemanticNode]] = {}
    for model in sorted(models):
        seen: set[str] = set()
        queue = list(readers.get(model, ()))
        while queue:
            node = queue.pop()
            if node not in seen:
                seen.add(node)
                queue += readers.get(node, ())
        if seen:
            out[model] = [semantic[n] for n in sorted(seen)]
    return out


def _read(project_dir: Path, path: str, problems: list[str]) -> tuple[str, str] | None:
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
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot be read ({exc.__class__.__name__})")
        return None
    mode = "100755" if source.stat().st_mode & stat.S_IXUSR else "100644"
    return text, mode


def _edit_yaml(text: str, models: Iterable[str], tests: Iterable[DbtTest], semantic: Iterable[tuple[str, str]],
               path: str, problems: list[str]) -> str | None:
    crlf = "\r\n" in text
    edit = edit_properties(text.replace("\r\n", "\n") if crlf else text, models, tests, semantic)
    problems.extend(f"{path}: {what} not found" for what in edit.not_found)
    if edit.after is None or not crlf:
        return edit.after
    return edit.after.replace("\n", "\r\n")


def plan_deletion(project_dir: Path, orphans: Iterable[Orphan], tests: Mapping[str, DbtTest],
                  properties: Mapping[str, str], semantic: Mapping[str, SemanticNode] | None = None) -> Deletion:
    """The file changes that delete ``orphans`` with their YAML entries and every test touching them.

    ``properties`` maps a model id to the YAML file that documents it (project relative);
    ``tests`` are the project's tests by id (``dbt.tests_of``); ``semantic`` the
    project's semantic-layer nodes by id, of which those downstream of a deleted model go.
    """
    problems: list[str] = []
    changes: dict[str, FileChange] = {}
    yaml_models: dict[str, set[str]] = {}
    yaml_tests: dict[str, list[DbtTest]] = {}
    deleted: set[str] = set()
    for orphan in orphans:
        if not orphan.path or refused_path(project_dir, orphan.path):
            continue  # plan_actions records the refusal
        found = _read(project_dir, orphan.path, problems)
        if found is None:
            continue
        changes[orphan.path] = FileChange(orphan.path, found[0], None, found[1])
        deleted.add(orphan.unique_id)
        if properties.get(orphan.unique_id):
            yaml_models.setdefault(properties[orphan.unique_id], set()).add(orphan.name)
    by_model = touching(tests.values(), deleted)
    semantic_by_model = downstream_semantic(semantic or {}, deleted)
    yaml_semantic: dict[str, set[tuple[str, str]]] = {}
    for node in {n.unique_id: n for ns in semantic_by_model.values() for n in ns}.values():
        if not node.path or refused_path(project_dir, node.path):
            problems.append(f"{node.unique_id}: its YAML file {node.path!r} cannot be edited")
            continue
        yaml_semantic.setdefault(node.path, set()).add((_SECTION_OF[node.kind], node.name))
    for test in sorted({t.unique_id: t for ts in by_model.values() for t in ts}.values(), key=lambda t: t.unique_id):
        if test.yaml_key == "models" and test.attached_node in deleted:
            continue  # declared in the deleted model's own entry: it goes with the entry
        if test.singular:
            found = _read(project_dir, test.path, problems) if test.path not in changes else None
            if found is not None:
                changes[test.path] = FileChange(test.path, found[0], None, found[1])
        elif test.path:
            yaml_tests.setdefault(test.path, []).append(test)
        else:
            problems.append(f"{test.unique_id}: no file declares it in manifest.json")
    for path in sorted(set(yaml_models) | set(yaml_tests) | set(yaml_semantic)):
        found = _read(project_dir, path, problems)
        if found is None:
            continue
        after = _edit_yaml(found[0], yaml_models.get(path, ()), yaml_tests.get(path, ()),
                           yaml_semantic.get(path, ()), path, problems)
        if after != found[0]:
            changes[path] = FileChange(path, found[0], after, found[1])
    for problem in problems:
        logger.warning("cleanup patch: %s", problem)
    return Deletion(changes=tuple(changes[p] for p in sorted(changes)), models=tuple(sorted(deleted)),
                    tests={m: tuple(sorted(t.unique_id for t in ts)) for m, ts in sorted(by_model.items())},
                    problems=tuple(problems),
                    semantic={m: tuple(n.unique_id for n in ns) for m, ns in sorted(semantic_by_model.items())})


# -- rendering -----------------------------------------------------------------------------
def _hunks(before: str, after: str, old: str, new: str) -> str:
    """difflib's unified diff, with git's marker for a last line that has no newline."""
    out = []
    for line in difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True), old, new):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def render_change(change: FileChange) -> str:
    """One file's part of a ``git apply``-able patch."""
    head = f"diff --git a/{change.path} b/{change.path}\n"
    if change.after is None:
        return (head + f"deleted file mode {change.mode}\n"
                + _hunks(change.before, "", f"a/{change.path}", "/dev/null"))
    return head + _hunks(change.before, change.after, f"a/{change.path}", f"b/{change.path}")


def render_patch(changes: Iterable[FileChange]) -> str:
    """The changes as one unified diff (``git apply`` takes it), files in path order."""
    return "".join(render_change(c) for c in sorted(changes, key=lambda c: c.path))
