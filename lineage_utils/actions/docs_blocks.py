"""The docs blocks that go with deleted models: cut from their ``.md`` files, every other byte kept.

A docs block goes when every resource that uses it, or may use it (``dbt.docs``), is a
deleted model (its own description or a column's) of the block's own package: nothing
left calls ``{{ doc('it') }}``. An ``opaque`` block (empty text: uses without
``doc_blocks`` cannot be traced) stays. A block nobody uses (``__overview__``, a block kept for
later) is never touched: only deleting its users makes a block dead.

The cut is exactly ``{% docs name %}...{% enddocs %}`` (whitespace control and spacing
as written: ``{%- docs name -%}``, ``{%docs name%}``); when the block has its lines to
itself, those whole lines go, and one blank line after it. A file left with nothing
but whitespace is deleted. ``cut_docs_blocks`` is pure; ``plan_docs_removal`` reads the
files (refusing paths ``refused_path`` refuses) and returns ``FileChange`` records.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from lineage_utils.actions.project_files import FileChange, planned_text, refused_path
from lineage_utils.dbt.docs import DocBlock, users_of

logger = logging.getLogger(__name__)

_CLOSE = re.compile(r"\{%[-+]?\s*enddocs\s*[-+]?%\}")
_BLANK = re.compile(r"[ \t\r\f\v]*(?:\n|\Z)")


@dataclass(frozen=True)
class DocsEdit:
    """The text without the blocks cut (None: nothing but whitespace is left), what was cut, what was not found."""

    after: str | None
    removed: tuple[str, ...]
    not_found: tuple[str, ...]


@dataclass(frozen=True)
class DocsRemoval:
    changes: tuple[FileChange, ...]
    docs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Model id -> the ids of the docs blocks removed with it (a block used by two deleted models: under both)."""
    problems: tuple[str, ...] = ()


def _span(text: str, name: str) -> tuple[int, int] | str:
    """(start, end) of the cut for block ``name``, or why it cannot be cut."""
    opening = re.compile(r"\{%[-+]?\s*docs\s+" + re.escape(name) + r"\s*[-+]?%\}")
    found = list(opening.finditer(text))
    if len(found) != 1:
        return "not found" if not found else f"declared {len(found)} times"
    close = _CLOSE.search(text, found[0].end())
    if close is None:
        return "has no {% enddocs %}"
    start, end = found[0].start(), close.end()
    line_start = text.rfind("\n", 0, start) + 1
    tail = _BLANK.match(text, end)
    if text[line_start:start].strip(" \t") or tail is None:
        return start, end  # the block shares a line with other text: only the block goes
    end = tail.end()
    blank = _BLANK.match(text, end) if end < len(text) else None
    return line_start, blank.end() if blank is not None and blank.end() > end else end


def cut_docs_blocks(text: str, names: Iterable[str]) -> DocsEdit:
    """``text`` without the docs blocks named ``names`` (see the module docstring)."""
    spans, removed, not_found = [], [], []
    for name in sorted(set(names)):
        span = _span(text, name)
        if isinstance(span, str):
            not_found.append(f"docs block {name} ({span})")
        else:
            spans.append(span)
            removed.append(name)
    spans.sort()
    if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
        return DocsEdit(after=text, removed=(), not_found=tuple(f"docs block {n} (overlaps another)" for n in removed))
    after = text
    for start, end in reversed(spans):
        after = after[:start] + after[end:]
    if removed and not after.strip():
        return DocsEdit(after=None, removed=tuple(removed), not_found=tuple(not_found))
    return DocsEdit(after=after, removed=tuple(removed), not_found=tuple(not_found))


def _package(unique_id: str) -> str | None:
    parts = unique_id.split(".")
    return parts[1] if len(parts) > 2 else None


def removable_docs(docs: Mapping[str, DocBlock], deleted: Iterable[str]) -> dict[str, list[DocBlock]]:
    """Deleted model id -> the docs blocks that go with it: every (possible) user deleted, all of the block's package."""
    deleted = set(deleted)
    out: dict[str, list[DocBlock]] = {}
    for doc in sorted(docs.values(), key=lambda d: d.unique_id):
        users = users_of(doc)
        if users and not doc.opaque and set(users) <= deleted and all(_package(u) == doc.package for u in users):
            for user in users:
                out.setdefault(user, []).append(doc)
    return dict(sorted(out.items()))


def plan_docs_removal(project_dir: Path, docs: Mapping[str, DocBlock], deleted: Iterable[str],
                      planned: Mapping[str, FileChange] | None = None) -> DocsRemoval:
    """The ``.md`` file changes that cut the docs blocks only deleted models use.

    ``planned`` are changes already in the patch: a file among them is edited from its
    planned text, and its ``FileChange`` keeps the original ``before``.
    """
    by_model = removable_docs(docs, deleted)
    by_file: dict[str, set[str]] = {}
    problems: list[str] = []
    for doc in {d.unique_id: d for ds in by_model.values() for d in ds}.values():
        why = refused_path(project_dir, doc.path) if doc.path else "no file declares it in manifest.json"
        if why:
            problems.append(f"{doc.unique_id}: its file {doc.path!r} cannot be edited: {why}")
            continue
        by_file.setdefault(doc.path, set()).add(doc.name)
    changes, removed = [], set()
    earlier = dict(planned or {})
    for path in sorted(by_file):
        found = planned_text(project_dir, path, earlier, problems)
        if found is None:
            continue
        before, mode, text = found
        edit = cut_docs_blocks(text, by_file[path])
        problems.extend(f"{path}: {what}" for what in edit.not_found)
        removed |= {(path, name) for name in edit.removed}
        if edit.after != text:
            changes.append(FileChange(path, before, edit.after, mode))
    for problem in problems:
        logger.warning("cleanup patch: %s", problem)
    gone = {m: tuple(d.unique_id for d in ds if (d.path, d.name) in removed) for m, ds in by_model.items()}
    return DocsRemoval(changes=tuple(changes), docs={m: ids for m, ids in gone.items() if ids},
                       problems=tuple(problems))
