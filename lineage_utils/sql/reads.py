"""Which tables a BI query reads: templates rendered, parsed with sqlglot, scopes walked.

``extract_reads`` never raises: whatever goes wrong makes the query *unparsed* with a
reason. The work is a declared tuple of small passes (``PASSES``), each taking and
returning a ``_Work`` record; a pass that decides the query is unparsed sets ``done``.
Tables are collected through sqlglot's scope analysis (``lineage_utils.sql.tables``), so
CTE names, derived tables, aliases and table functions are never reported as reads.

A Liquid branch variant gets the default text's retries too (tags stripped when Liquid
cannot render it, undefined variables as ``1`` when it does not parse). A branch still
not read (not tried within the cap or time budget, not parsed, or naming a table only
template logic knows) is listed in the reason by ``unread_note``: the names its text
mentions are then protected as an unparsed query's are (``lineage_utils.sql.mentions``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import sqlglot
from sqlglot import exp

from lineage_utils.errors import first_line
from lineage_utils.sql.statements import needs_script, parse_script
from lineage_utils.sql.tables import (
    TableRead,
    UseContext,
    created_tables,
    flatten_statements,
    is_created,
    is_dynamic,
    source_tables,
    to_read,
)
from lineage_utils.sql.branches import unread_note
from lineage_utils.sql.templates import (
    BUDGET_NOTE,
    MAX_VARIANTS,
    VARIANT_TIME_BUDGET,
    TemplatePath,
    Variant,
    render_neutral,
    render_template,
    render_variant_neutral,
)

logger = logging.getLogger(__name__)

MAX_SQL_CHARS = 1_000_000
"""Longer queries are reported unparsed rather than parsed."""

VARIANT_CHAR_BUDGET = 1_000_000
"""Branch variants of one query are capped so that their total size stays near this."""

_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufffd]")


@dataclass(frozen=True)
class Extraction:
    """Everything extract_reads learnt about one query."""

    reads: tuple[TableRead, ...]
    template_path: TemplatePath
    parsed: bool
    reason: str | None
    missing_definitions: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Work:
    """State handed from pass to pass."""

    sql: str
    dialect: str | None
    definitions: Mapping[str, str] | None
    template_path: TemplatePath = "plain"
    texts: tuple[str, ...] = ()  # rendered SQL: the default first, then branch variants
    statements: tuple[tuple[exp.Expr, ...], ...] = ()  # per text
    reads: tuple[TableRead, ...] = ()
    reason: str | None = None
    missing: tuple[str, ...] = ()
    done: bool = False
    parsed: bool = True
    time_budget: float | None = VARIANT_TIME_BUDGET  # seconds for branch variants; None = no limit
    deadline: float | None = None  # set by ``render``: when branch variants stop being tried
    variants: tuple[Variant, ...] = ()  # set by ``render``: the branch variants behind texts[1:]
    defaults: Mapping[str, Any] | None = None  # the form defaults (for re-rendering a variant)
    branches: tuple[tuple[int, ...], ...] = ()  # per text: the branches it stands for, () for the default
    unread: tuple[tuple[int, str], ...] = ()  # (branch, why) of branches whose reads are unknown

    @property
    def source_text(self) -> str:
        """The text every read's name must stand in: the query and the definitions used."""
        return "\n".join((self.sql, *(self.definitions or {}).values())).lower()


def _unparsed(work: _Work, reason: str) -> _Work:
    return replace(work, done=True, parsed=False, reason=reason, reads=())


def check_input(work: _Work) -> _Work:
    """Refuse empty, binary and oversized input before any real work."""
    sql = work.sql
    if len(sql) > MAX_SQL_CHARS:
        return _unparsed(work, f"too long: {len(sql)} characters (cap {MAX_SQL_CHARS})")
    if "\x00" in sql or len(_CONTROL_RE.findall(sql[:100_000])) > 8:
        return _unparsed(work, "binary or non-text input")
    if not sql.strip():
        return _unparsed(work, "empty")
    return work


def render(work: _Work) -> _Work:
    """Render Mode Liquid (defaults, definitions, branch variants) or strip it."""
    # every variant is parsed again: fewer of them for long queries keeps the cost bounded
    budget = max(1, min(MAX_VARIANTS, VARIANT_CHAR_BUDGET // max(len(work.sql), 1)))
    deadline = None if work.time_budget is None else time.perf_counter() + work.time_budget
    rendering = render_template(work.sql, work.definitions, budget, deadline)
    return replace(
        work,
        deadline=deadline,
        template_path=rendering.template_path,
        texts=(rendering.sql, *(v.sql for v in rendering.variants)),
        reason=rendering.reason,
        missing=rendering.missing_definitions,
        variants=rendering.variants,
        defaults=rendering.defaults,
        branches=((), *(v.branches for v in rendering.variants)),
        unread=rendering.untried,
    )


def parse(work: _Work) -> _Work:
    """Parse every text; the default text must parse, a variant that does not is unread."""
    parsed: list[tuple[exp.Expr, ...]] = []
    texts: list[str] = []
    branches: list[tuple[int, ...]] = []
    unread = list(work.unread)
    reason = work.reason
    for index, text in enumerate(work.texts):
        if index > 0 and work.deadline is not None and time.perf_counter() > work.deadline:
            reason = _join(reason, f"{BUDGET_NOTE} after parsing {index - 1} of {len(work.texts) - 1}")
            unread += [(b, "not parsed (time budget)") for v in work.variants[index - 1 :] for b in v.branches]
            break
        try:
            statements = _parse_statements(text, work.dialect)
        except Exception as exc:  # noqa: BLE001 - every parser failure means unparsed
            if index == 0:
                retried = _parse_neutral(work) if work.template_path == "rendered" else None
                if retried is None:
                    return _unparsed(work, _join(work.reason, f"parse error: {_brief(exc)}"))
                text, statements = retried
                reason = _join(reason, "variables without a default rendered as 1")
                parsed.append(statements)
                texts.append(text)
                branches.append(())
                continue
            variant = work.variants[index - 1]
            retried = _parse_variant_neutral(variant, work)
            if retried is None:
                logger.debug("branch variant %s not parsed: %s", variant.branch, _brief(exc))
                unread += [(b, f"parse error: {_brief(exc)}") for b in variant.branches]
                continue
            text, statements = retried
            reason = _join(reason, f"branch {variant.branch}: variables without a default rendered as 1")
        if index == 0 and not statements:
            return _unparsed(work, _join(work.reason, "empty"))
        parsed.append(statements)
        texts.append(text)
        branches.append(work.branches[index] if index < len(work.branches) else ())
    return replace(work, statements=tuple(parsed), texts=tuple(texts), reason=reason, branches=tuple(branches),
                   unread=tuple(unread))


def _reparsed(text: str | None, before: str, dialect: str) -> tuple[str, tuple[exp.Expr, ...]] | None:
    """``text`` (a re-rendering of ``before``) parsed, or None when it is no better."""
    if text is None or text == before:
        return None
    try:
        statements = _parse_statements(text, dialect)
    except Exception:  # noqa: BLE001 - still unparsable: the first error stands
        return None
    return (text, statements) if statements else None


def _parse_variant_neutral(variant: Variant, work: _Work) -> tuple[str, tuple[exp.Expr, ...]] | None:
    """A branch variant rendered with undefined variables as ``1``, parsed; None if no better."""
    return _reparsed(render_variant_neutral(variant, work.defaults or {}), variant.sql, work.dialect)


def _parse_neutral(work: _Work) -> tuple[str, tuple[exp.Expr, ...]] | None:
    """The default text rendered with undefined variables as ``1``, parsed; None if no better."""
    return _reparsed(render_neutral(work.sql, work.definitions), work.texts[0], work.dialect)


_GO_RE = re.compile(r"^[ \t]*GO(?:[ \t]+\d+)?[ \t]*;?[ \t]*$", re.IGNORECASE | re.MULTILINE)
"""T-SQL's batch separator (a client command, not SQL): a line holding only GO."""


def _parse_statements(text: str, dialect: str | None) -> tuple[exp.Expr, ...]:
    if dialect in ("tsql", "fabric"):
        text = _GO_RE.sub(lambda m: ";".ljust(len(m.group(0))), text)  # same length: token offsets hold
    error: Exception | None = None
    try:
        statements = tuple(s for s in sqlglot.parse(text, read=dialect) if s is not None)
        if not needs_script(statements):
            return _checked(statements)
    except Exception as exc:  # noqa: BLE001 - maybe a script sqlglot cannot parse whole: split it
        statements, error = (), exc
    try:
        scripted = _checked(parse_script(text, dialect))
    except Exception:  # noqa: BLE001 - the whole-text failure explains best
        scripted = ()
    if scripted:
        return scripted
    if error is not None:
        raise error
    return _checked(statements)  # e.g. a procedure whose body is not SQL


def _checked(statements: tuple[exp.Expr, ...]) -> tuple[exp.Expr, ...]:
    for statement in statements:
        if isinstance(statement, exp.Command):
            keyword = str(statement.this or "").upper() or "?"
            raise ValueError(f"statement not understood by sqlglot ({keyword} ...)")
        if isinstance(statement, (exp.Condition, exp.Alias, exp.Identifier)):  # e.g. "SELEC x" reads as "SELEC AS x"
            raise ValueError(f"not a SQL statement: {statement.sql()[:60]!r}")
    return statements


def collect(work: _Work) -> _Work:
    """Collect real tables via scopes, statement by statement.

    A table an earlier statement of the query creates (temp table, CTAS, SELECT INTO) is
    not a read; ``USE`` qualifies the unqualified names of the statements after it.
    """
    source = work.source_text
    default_keys: set[tuple[object, ...]] = set()
    reads: dict[tuple[object, ...], TableRead] = {}
    unread = dict(work.unread)  # a branch naming a table only template logic knows: its reads are unknown
    for index, (text, statements) in enumerate(zip(work.texts, work.statements)):
        created: set[tuple[str | None, str]] = set()
        context = UseContext()
        for statement in flatten_statements(statements):
            if isinstance(statement, exp.Use):
                context = context.use(statement, work.dialect)
                continue
            for table in source_tables(statement):
                if is_dynamic(table):
                    if index == 0:
                        return _unparsed(work, _join(work.reason, f"table name only known at run time: {table.this.sql()}"))
                    _mark(unread, work.branches[index], f"table name only known at run time: {table.this.sql()}")
                    continue
                read = to_read(table, text, work.dialect)
                if read is None or is_created(read, created):
                    continue
                read = context.qualify(read)
                if not _visible(read, text, source, work.template_path != "plain"):
                    if index == 0:  # a name made by template logic: we cannot say what it reads
                        return _unparsed(work, _join(work.reason, f"table name {read.raw!r} is not in the query text"))
                    _mark(unread, work.branches[index], f"table name {read.raw!r} is not in the query text")
                    continue
                if index == 0:
                    default_keys.add(read.key)
                    reads.setdefault(read.key, read)
                elif read.key not in default_keys:
                    reads.setdefault(read.key, replace(read, conditional=True))
            created |= created_tables((statement,))
    ordered = sorted(reads.values(), key=lambda r: (r.catalog or "", r.db or "", r.name, r.quoted, r.raw))
    # the branches whose reads are unknown, named last in the reason (query_refs reads them back)
    reason = _join(work.reason, unread_note(unread.items())) or None
    return replace(work, reads=tuple(ordered), unread=tuple(unread.items()), reason=reason)


def _mark(unread: dict[int, str], branches: tuple[int, ...], why: str) -> None:
    for branch in branches:
        unread.setdefault(branch, why)


PASSES: tuple[Callable[[_Work], _Work], ...] = (check_input, render, parse, collect)
"""The passes of extract_reads, in order."""


def extract_reads(
    sql: str,
    dialect: str,
    definitions: Mapping[str, str] | None = None,
    time_budget: float | None = VARIANT_TIME_BUDGET,
) -> Extraction:
    """The tables ``sql`` reads, in ``dialect`` (a sqlglot dialect name; "" = generic).

    ``time_budget`` caps the seconds spent on Liquid branch variants (None: no cap); when
    it is hit the reason says so and conditional reads may be missing.
    """
    if isinstance(sql, bytes | bytearray):
        try:
            sql = bytes(sql).decode("utf-8")
        except UnicodeDecodeError:
            return Extraction((), "plain", False, "binary or non-text input")
    work = _Work(sql=sql if isinstance(sql, str) else "", dialect=dialect or None, definitions=definitions,
                 time_budget=time_budget)
    for step in PASSES:
        try:
            work = step(work)
        except Exception as exc:  # noqa: BLE001 - never raise: the query becomes unparsed
            logger.debug("pass %s failed", step.__name__, exc_info=True)
            work = _unparsed(work, f"{step.__name__} failed: {_brief(exc)}")
        if work.done:
            break
    return Extraction(work.reads, work.template_path, work.parsed, work.reason, work.missing)


def _visible(read: TableRead, text: str, source: str, templated: bool = False) -> bool:
    """The safety net: a read's name must stand in the parsed text and in the source.

    For a template, the name must stand in the source as a whole word that no Liquid
    output touches: ``orders_{{ suffix }}`` renders ``orders_``, which is not a table the
    query names (a tag next to a name only chooses whether that literal text is kept).
    """
    name = read.name.lower()
    if name in text.lower() and name in source and (not templated or _whole_word(name, source)):
        return True
    logger.debug("dropped read %r: its name is not in the query text", read.raw)
    return False


def _whole_word(name: str, source: str) -> bool:
    pattern = r"(?<![\w$])(?<!\}\})" + re.escape(name) + r"(?![\w$])(?!\{\{)"
    return re.search(pattern, source) is not None


def _brief(exc: BaseException) -> str:
    errors = getattr(exc, "errors", None)
    if isinstance(exc, sqlglot.ParseError) and errors:
        first = errors[0]
        description = str(first.get("description", "")).split(" <Token")[0]
        return f"{description} (line {first.get('line')}, col {first.get('col')})"[:200]
    return first_line(exc)


def _join(*parts: str | None) -> str:
    return "; ".join(p for p in parts if p)
