"""The block structure of a Liquid template: its branches, numbered, and taking one.

``find_blocks`` scans the ``if``/``unless``/``case``/``for`` blocks and their branch bodies
(``raw`` and ``comment`` content is opaque). Branches are numbered from 1 in that order
(block by block, body by body): ``branch_choices`` yields, per branch, the template
rewritten so that the branch is taken (its enclosing blocks take the branch holding it),
``branch_bodies`` the branch texts themselves. ``unread_note`` / ``unread_branches`` write
and read the branch numbers whose reads are unknown in a query's reason, so that the
names those branches mention can be protected later (``lineage_utils.sql.mentions``).

Pure text work: rendering is ``lineage_utils.sql.templates``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

MAX_VARIANTS = 32
"""At most this many branch variants are rendered per query."""
UNREAD_NOTE = "Liquid branches not read"
"""Starts the reason part listing the branches whose reads are unknown: ``[2, 5-7]``."""
_UNREAD_RE = re.compile(re.escape(UNREAD_NOTE) + r" \[([0-9, \-]+)\]")

TAG_RE = re.compile(r"\{%-?\s*(?P<name>\w+)(?P<args>.*?)-?%\}", re.S)
_BRANCHING = {"if": "endif", "unless": "endunless", "case": "endcase", "for": "endfor"}
_OTHER_BLOCKS = {"capture": "endcapture", "tablerow": "endtablerow"}
_OPAQUE = {"raw": "endraw", "comment": "endcomment"}
_BRANCH_TAGS = {"elsif", "else", "when"}


@dataclass(frozen=True)
class _Block:
    """One branching Liquid block: its span and the spans of its branch bodies."""

    start: int
    end: int
    bodies: tuple[tuple[int, int], ...]


def find_blocks(sql: str) -> tuple[_Block, ...]:
    """Branching blocks (if/unless/case/for) with their branch bodies, in text order."""
    blocks: list[_Block] = []
    stack: list[_OpenBlock] = []
    opaque_end: str | None = None
    for match in TAG_RE.finditer(sql):
        name = match.group("name").lower()
        if opaque_end is not None:
            if name == opaque_end:
                opaque_end = None
            continue
        if name in _OPAQUE:
            opaque_end = _OPAQUE[name]
        elif name in _BRANCHING or name in _OTHER_BLOCKS:
            # text between `case` and its first `when` is not a branch
            stack.append(_OpenBlock(name, match.start(), None if name == "case" else match.end()))
        elif name in _BRANCH_TAGS and stack and stack[-1].tag in _BRANCHING:
            stack[-1].close_body(match.start())
            stack[-1].body_from = match.end()
        elif stack and name == {**_BRANCHING, **_OTHER_BLOCKS}[stack[-1].tag]:
            block = stack.pop()
            block.close_body(match.start())
            if block.tag in _BRANCHING and block.bodies:
                blocks.append(_Block(block.start, match.end(), tuple(block.bodies)))
    return tuple(sorted(blocks, key=lambda b: (b.start, -b.end)))


class _OpenBlock:
    """A block whose end tag has not been seen yet (scanner state only)."""

    def __init__(self, tag: str, start: int, body_from: int | None) -> None:
        self.tag = tag
        self.start = start
        self.body_from = body_from
        self.bodies: list[tuple[int, int]] = []

    def close_body(self, end: int) -> None:
        if self.body_from is not None:
            self.bodies.append((self.body_from, end))


def branch_variants(sql: str, limit: int = MAX_VARIANTS) -> tuple[str, ...]:
    """Rewrite the template so that one block takes one branch; one text per (block, branch).

    The blocks enclosing a nested block are made to take the branch that holds it, so a
    table read only in a nested, non-default branch is reached too.
    """
    variants = []
    for _, text, _ in branch_choices(sql, find_blocks(sql)):
        if len(variants) >= limit:
            logger.debug("branch variants capped at %s", limit)
            break
        variants.append(text)
    return tuple(variants)


def branch_bodies(sql: str) -> tuple[str, ...]:
    """The text of every branch body, in branch-number order (number = index + 1)."""
    return tuple(sql[start:end] for block in find_blocks(sql) for start, end in block.bodies)


def branch_choices(
    sql: str, blocks: tuple[_Block, ...]
) -> Iterator[tuple[int, str, tuple[int, int]]]:
    """(branch number, template with that branch taken, span of the taken piece in it)."""
    number = 0
    for block in blocks:
        ancestors = sorted(
            (a for a in blocks if a.start < block.start and block.end <= a.end),
            key=lambda a: a.start,
            reverse=True,
        )
        for body in block.bodies:
            number += 1
            yield (number, *_take_branch(sql, block, body, ancestors))


def _take_branch(
    sql: str, block: _Block, body: tuple[int, int], ancestors: list[_Block]
) -> tuple[str, tuple[int, int]]:
    piece = sql[body[0] : body[1]]
    start, end = block.start, block.end
    for ancestor in ancestors:  # innermost first
        holder = next(((s, e) for s, e in ancestor.bodies if s <= start and end <= e), None)
        if holder is None:  # between `case` and its first `when`: not rendered anyway
            break
        piece = sql[holder[0] : start] + piece + sql[end : holder[1]]
        start, end = ancestor.start, ancestor.end
    return sql[:start] + piece + sql[end:], (start, start + len(piece))


def unread_note(unread: Iterable[tuple[int, str]]) -> str | None:
    """The reason part naming the branches never read: ``UNREAD_NOTE [2, 5-7]: #2 why; ...``.

    Consecutive branches with the same why are written as one range.
    """
    groups: list[list[Any]] = []  # [first, last, why]
    for number, why in sorted(dict(unread).items()):
        if groups and groups[-1][1] == number - 1 and groups[-1][2] == why:
            groups[-1][1] = number
        else:
            groups.append([number, number, why])
    if not groups:
        return None
    spans = [str(a) if a == b else f"{a}-{b}" for a, b, _ in groups]
    details = "; ".join(f"#{span} {why}" for span, (_, _, why) in zip(spans, groups))
    return f"{UNREAD_NOTE} [{', '.join(spans)}]: {details}; the dbt relations they mention are protected"


def unread_branches(reason: str | None) -> tuple[int, ...]:
    """The branch numbers ``unread_note`` wrote into a reason (the last such note)."""
    matches = _UNREAD_RE.findall(reason or "")
    numbers: list[int] = []
    for span in (matches[-1].split(",") if matches else ()):
        first, _, last = span.strip().partition("-")
        if first.isdigit():
            numbers.extend(range(int(first), int(last if last.isdigit() else first) + 1))
    return tuple(numbers)
