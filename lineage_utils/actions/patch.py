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
dead, and ``dbt parse`` refuses a semantic model whose model is gone. A docs block
that only deleted models use is cut from its ``.md`` file (``actions.docs_blocks``),
and each deleted model's ``ref`` leaves the generated exposures file (``exposures.path``:
an exposure left with no dependency goes, and the file with its last exposure); dbt
refuses a ``doc()`` or a ``depends_on`` naming nothing. Hand-written exposures are
never edited: one naming a model keeps it alive. YAML is edited with ruamel.yaml
round-trip (``actions.yaml_edit``). A file several edits touch is one ``FileChange``.

Files are read, never written; a path from the manifest that leaves the project is
refused (``refused_path``) and never read. What could not be found is reported in
``Deletion.problems`` (the cleanup branch's real ``dbt parse`` would then fail).
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from lineage_utils.actions.docs_blocks import plan_docs_removal
from lineage_utils.actions.exposures_file import generated_path
from lineage_utils.actions.project_files import FileChange, planned_text, read_project_file, refused_path
from lineage_utils.actions.yaml_edit import drop_exposure_refs, edit_properties
from lineage_utils.dbt.docs import DocBlock
from lineage_utils.dbt.semantic import SEMANTIC_SECTIONS, SemanticNode
from lineage_utils.dbt.tests_of import DbtTest
from lineage_utils.errors import UnsafeActionError
from lineage_utils.lineage.orphans import Orphan

__all__ = ["Deletion", "FileChange", "downstream_semantic", "plan_deletion", "refused_path", "render_change",
           "render_patch", "touching"]

logger = logging.getLogger(__name__)

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
    docs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Model id -> the ids of the docs blocks removed with it (no one else uses them)."""
    exposures: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Model id -> the generated exposures whose ``depends_on`` lost its ``ref`` (removed ones too)."""
    removed_exposures: tuple[str, ...] = ()
    """Generated exposures removed: they depended on deleted models only."""


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


def _edit_yaml(text: str, models: Iterable[str], tests: Iterable[DbtTest], semantic: Iterable[tuple[str, str]],
               path: str, problems: list[str]) -> str | None:
    crlf = "\r\n" in text
    edit = edit_properties(text.replace("\r\n", "\n") if crlf else text, models, tests, semantic)
    problems.extend(f"{path}: {what} not found" for what in edit.not_found)
    if edit.after is None or not crlf:
        return edit.after
    return edit.after.replace("\n", "\r\n")


def _edit_exposures(project_dir: Path, path: str, models: Mapping[str, str], changes: dict[str, FileChange],
                    problems: list[str]) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """Drop the deleted models' refs from the generated exposures file (when it is there); (dropped, removed)."""
    try:
        path = generated_path(path)
    except UnsafeActionError as exc:
        problems.append(str(exc))
        return {}, ()
    if path not in changes and not refused_path(project_dir, path) and not (project_dir.resolve() / path).is_file():
        return {}, ()  # not generated into the repository yet: nothing names the models
    found = planned_text(project_dir, path, changes, problems)
    if found is None:
        return {}, ()
    before, mode, text = found
    crlf = "\r\n" in text
    edit = drop_exposure_refs(text.replace("\r\n", "\n") if crlf else text, models)
    if edit.problem:
        problems.append(f"{path}: {edit.problem}")
    after = edit.after.replace("\n", "\r\n") if crlf and edit.after is not None else edit.after
    if after != text:
        changes[path] = FileChange(path, before, after, mode)
    return dict(edit.dropped), edit.removed


def plan_deletion(project_dir: Path, orphans: Iterable[Orphan], tests: Mapping[str, DbtTest],
                  properties: Mapping[str, str], semantic: Mapping[str, SemanticNode] | None = None, *,
                  docs: Mapping[str, DocBlock] | None = None, generated_exposures: str | None = None) -> Deletion:
    """The file changes that delete ``orphans`` with their YAML entries and every test touching them.

    ``properties`` maps a model id to the YAML file that documents it (project relative);
    ``tests`` are the project's tests by id (``dbt.tests_of``); ``semantic`` the
    project's semantic-layer nodes by id, of which those downstream of a deleted model go.
    ``docs`` are the project's docs blocks by id (``dbt.docs``), of which those only
    deleted models use are cut (``actions.docs_blocks``); ``generated_exposures`` is the
    generated exposures file (``exposures.path``), from which the deleted models' refs
    go (``yaml_edit.drop_exposure_refs``). One ``FileChange`` per file, whatever edits it.
    """
    problems: list[str] = []
    changes: dict[str, FileChange] = {}
    yaml_models: dict[str, set[str]] = {}
    yaml_tests: dict[str, list[DbtTest]] = {}
    deleted: set[str] = set()
    orphans_seen = list(orphans)
    for orphan in orphans_seen:
        if not orphan.path or refused_path(project_dir, orphan.path):
            continue  # plan_actions records the refusal
        found = read_project_file(project_dir, orphan.path, problems)
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
            found = read_project_file(project_dir, test.path, problems) if test.path not in changes else None
            if found is not None:
                changes[test.path] = FileChange(test.path, found[0], None, found[1])
        elif test.path:
            yaml_tests.setdefault(test.path, []).append(test)
        else:
            problems.append(f"{test.unique_id}: no file declares it in manifest.json")
    for path in sorted(set(yaml_models) | set(yaml_tests) | set(yaml_semantic)):
        found = read_project_file(project_dir, path, problems)
        if found is None:
            continue
        after = _edit_yaml(found[0], yaml_models.get(path, ()), yaml_tests.get(path, ()),
                           yaml_semantic.get(path, ()), path, problems)
        if after != found[0]:
            changes[path] = FileChange(path, found[0], after, found[1])
    dropped, removed = {}, ()
    if generated_exposures and deleted:
        names = {o.unique_id: o.name for o in orphans_seen if o.unique_id in deleted}
        dropped, removed = _edit_exposures(project_dir, generated_exposures, names, changes, problems)
    for problem in problems:
        logger.warning("cleanup patch: %s", problem)
    blocks = plan_docs_removal(project_dir, docs or {}, deleted, changes)  # logs its own problems
    changes.update({c.path: c for c in blocks.changes})
    exposures: dict[str, list[str]] = {}
    for exposure, models in dropped.items():
        for model in models:
            exposures.setdefault(model, []).append(exposure)
    return Deletion(changes=tuple(changes[p] for p in sorted(changes)), models=tuple(sorted(deleted)),
                    tests={m: tuple(sorted(t.unique_id for t in ts)) for m, ts in sorted(by_model.items())},
                    problems=tuple(problems) + blocks.problems,
                    semantic={m: tuple(n.unique_id for n in ns) for m, ns in sorted(semantic_by_model.items())},
                    docs=dict(blocks.docs), exposures={m: tuple(sorted(e)) for m, e in sorted(exposures.items())},
                    removed_exposures=removed)


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
    if change.created:
        return head + f"new file mode {change.mode}\n" + _hunks("", change.after, "/dev/null", f"b/{change.path}")
    return head + _hunks(change.before, change.after, f"a/{change.path}", f"b/{change.path}")


def render_patch(changes: Iterable[FileChange]) -> str:
    """The changes as one unified diff (``git apply`` takes it), files in path order."""
    return "".join(render_change(c) for c in sorted(changes, key=lambda c: c.path))
