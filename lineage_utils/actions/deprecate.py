"""What deprecating orphan models takes: their ``deprecation_date`` in YAML, as file changes.

A model that dbt knows a properties file for (``patch_path``) gets ``deprecation_date:
"YYYY-MM-DD"`` on its ``models:`` entry there, right after ``name:``, or its existing date
replaced in place. A model no YAML file documents gets an entry in ``DEPRECATIONS_FILE``
of its SQL file's folder: the file is created (``version: 2``, ``models:``) when absent,
extended when a former run left one. dbt reads any ``.yml`` under ``model-paths``, and a
model's only properties entry may live in such a file, so the next run finds it as the
model's ``patch_path`` (and a deletion then removes the entry, ``actions.patch``).

YAML is edited with ruamel.yaml round trip in the file's own layout (``actions.yaml_edit``):
every other byte, comment and quote stays; a file with CRLF line ends keeps them. Files
are read, never written; a path that ``refused_path`` refuses is neither read nor
changed. What could not be done is returned as problem strings naming file and model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable, Mapping

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from lineage_utils.actions.project_files import FileChange, read_project_file, refused_path
from lineage_utils.actions.strategy import RemovalDecision
from lineage_utils.actions.yaml_edit import _dump, _layout, _named, _yaml

logger = logging.getLogger(__name__)

DEPRECATIONS_FILE = "_deprecated_models.yml"
"""The YAML file, beside a model's SQL file, that takes the entry of a model no YAML file documents."""
_NEW_LAYOUT = (2, 4, 2)
"""The indentation of a created file (dbt's own examples)."""
_HEADER = "Deprecations proposed by metapipeline (cleanup.strategy); a later run deletes these models."


@dataclass(frozen=True)
class _Entry:
    """One model's date to set in one file; ``create``: append an entry when the file has none."""

    name: str
    date: str
    create: bool


def deprecations_path(model_path: str) -> str:
    """Where a model without a properties file gets its entry: ``DEPRECATIONS_FILE`` beside its SQL file."""
    return str(PurePosixPath(model_path.replace("\\", "/")).parent / DEPRECATIONS_FILE)


def _read(project_dir: Path, path: str, problems: list[str], absent_ok: bool) -> tuple[str, str] | None:
    """(text, git mode) of a project file; ("", 100644) for an absent file when ``absent_ok``; else None."""
    if absent_ok and not (project_dir.resolve() / path).exists():
        return "", "100644"
    return read_project_file(project_dir, path, problems)


def _move_following_comment(entry: CommentedMap, after: str, key: str) -> None:
    """``after``'s comment lines below it belong to the key that follows it: give them to ``key`` (inserted)."""
    slots = entry.ca.items.get(after)
    token = slots[2] if slots and len(slots) > 2 else None
    if token is None or "\n" not in token.value:
        return
    head, following = token.value.split("\n", 1)
    if not following:
        return
    token.value = head + "\n"
    entry.ca.items[key] = [None, None, CommentToken("\n" + following, CommentMark(0), None), None]


def _width(value: object) -> int:
    """How many characters a scalar took in the file (quotes included, as ruamel kept them)."""
    return len(str(value)) + (2 if isinstance(value, (DoubleQuotedScalarString, SingleQuotedScalarString)) else 0)


def _shift_comment(entry: CommentedMap, key: str, by: int) -> None:
    """Move ``key``'s end-of-line comment ``by`` columns, so the gap before it stays as it was."""
    slots = entry.ca.items.get(key)
    token = slots[2] if slots and len(slots) > 2 else None
    if token is not None and not token.value.startswith("\n"):
        token.column = max(token.column + by, 0)


def _set_date(entry: CommentedMap, date: str) -> None:
    """``deprecation_date: "<date>"`` on a model entry: replaced where it is, else inserted after ``name``."""
    if "deprecation_date" in entry:
        old = entry["deprecation_date"]
        if str(old) != date:
            entry["deprecation_date"] = DoubleQuotedScalarString(date)
            _shift_comment(entry, "deprecation_date", len(date) + 2 - _width(old))
        return
    keys = list(entry.keys())
    position = keys.index("name") + 1  # an entry is found by its name
    entry.insert(position, "deprecation_date", DoubleQuotedScalarString(date))
    _move_following_comment(entry, "name", "deprecation_date")


def _new_document() -> CommentedMap:
    document = CommentedMap([("version", 2), ("models", CommentedSeq())])
    document.yaml_set_start_comment(_HEADER)
    return document


def _edit(text: str, entries: Iterable[_Entry], path: str, problems: list[str]) -> str:
    """``text`` with each entry's date set (an absent model appended where ``create``); LF text in and out."""
    if text:
        indent = _layout(text)
        yaml = _yaml(indent)
        document = yaml.load(text)
    else:
        yaml, document = _yaml(_NEW_LAYOUT), _new_document()
    if not isinstance(document, CommentedMap):
        problems.append(f"{path}: not a YAML mapping: no deprecation_date set")
        return text
    models = document.get("models")
    if models is None and any(e.create for e in entries):
        document["models"] = models = CommentedSeq()
    if not isinstance(models, CommentedSeq):
        problems.extend(f"{path}: model {e.name} not found (no models: list)" for e in entries)
        return text
    changed = False
    for entry in entries:
        found = _named(models, entry.name)
        if found is None and not entry.create:
            problems.append(f"{path}: model {entry.name} not found")
            continue
        if found is None:
            found = CommentedMap([("name", entry.name)])
            models.append(found)
        _set_date(found, entry.date)
        changed = True
    return _dump(yaml, document) if changed else text


def _edit_file(text: str, entries: list[_Entry], path: str, problems: list[str]) -> str:
    """``_edit`` keeping CRLF line ends (as ``actions.patch`` does); a file that does not parse is left as it is."""
    crlf = "\r\n" in text
    try:
        after = _edit(text.replace("\r\n", "\n") if crlf else text, entries, path, problems)
    except YAMLError as exc:
        problems.append(f"{path}: not valid YAML ({exc.__class__.__name__}): no deprecation_date set")
        return text
    return after.replace("\n", "\r\n") if crlf else after


def plan_deprecation(project_dir: Path, decisions: Iterable[RemovalDecision], properties: Mapping[str, str],
                     model_paths: Mapping[str, str], *,
                     texts: Mapping[str, str] | None = None) -> tuple[list[FileChange], list[str]]:
    """The file changes that set ``deprecation_date`` on each ``deprecate`` decision's model, and the problems.

    ``properties`` maps a model id to the YAML file that documents it and ``model_paths``
    a model id to its SQL file (both project relative, as in ``dbt_nodes``). Several
    models in one file make one change; decisions other than ``deprecate`` are ignored.
    ``texts`` holds files as another part of the patch already changed them (path ->
    text): those are edited from that text, which is then the change's ``before``.
    """
    problems: list[str] = []
    by_path: dict[str, list[_Entry]] = {}
    for decision in sorted(decisions, key=lambda d: d.unique_id):
        if decision.how != "deprecate":
            continue
        if not decision.deprecation_date:
            problems.append(f"{decision.unique_id}: a deprecation without a date: nothing set")
            continue
        documented = properties.get(decision.unique_id)
        model_path = model_paths.get(decision.unique_id)
        if not documented and not model_path:
            problems.append(f"{decision.unique_id}: neither a YAML properties file nor a SQL file is known")
            continue
        path = documented or deprecations_path(model_path or "")
        by_path.setdefault(path, []).append(_Entry(decision.name, decision.deprecation_date, not documented))
    changes = []
    for path, entries in sorted(by_path.items()):
        why = refused_path(project_dir, path)
        if why:
            problems.append(f"{path}: not read: {why}")
            continue
        planned = (texts or {}).get(path)
        found = (planned, "100644") if planned is not None else \
            _read(project_dir, path, problems, absent_ok=all(e.create for e in entries))
        if found is None:
            continue
        after = _edit_file(found[0], entries, path, problems)
        if after != found[0]:
            created = planned is None and not (project_dir.resolve() / path).exists()
            changes.append(FileChange(path, found[0], after, found[1], created=created))
    for problem in problems:
        logger.warning("deprecation patch: %s", problem)
    return changes, problems

