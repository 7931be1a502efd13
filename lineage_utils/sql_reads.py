"""Which tables a BI query reads: templates rendered, parsed with sqlglot, scopes walked.

``extract_reads`` never raises: whatever goes wrong makes the query *unparsed* with a
reason. The work is a declared tuple of small passes (``PASSES``), each taking and
returning a ``_Work`` record; a pass that decides the query is unparsed sets ``done``.
Tables are collected through sqlglot's scope analysis, so CTE names, derived tables,
aliases and table functions are never reported as reads.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import sqlglot
from sqlglot import exp
from sqlglot.optimizer import scope as _scope
from sqlglot.optimizer.scope import traverse_scope

from lineage_utils.sql_templates import MAX_VARIANTS, TemplatePath, render_template

logger = logging.getLogger(__name__)

MAX_SQL_CHARS = 1_000_000
"""Longer queries are reported unparsed rather than parsed."""

VARIANT_CHAR_BUDGET = 1_000_000
"""Branch variants of one query are capped so that their total size stays near this."""

# what traverse_scope accepts, and Snowflake's IDENTIFIER(...): guarded for older sqlglot
TRAVERSABLES = getattr(_scope, "TRAVERSABLES", (exp.Query, exp.DDL, exp.DML))
_DYNAMIC = getattr(exp, "DynamicIdentifier", None)
_NAMED = (exp.Identifier, _DYNAMIC) if _DYNAMIC else (exp.Identifier,)

_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufffd]")


@dataclass(frozen=True)
class TableRead:
    """One table a query reads, as written (quotes removed)."""

    catalog: str | None
    db: str | None
    name: str
    quoted: tuple[bool, bool, bool]  # (catalog, db, name) were quoted
    raw: str  # the reference as it stands in the SQL, e.g. 'MARTS."Fct_Orders"'
    conditional: bool = False  # only read in a Liquid branch the form defaults do not take

    @property
    def key(self) -> tuple[str | None, str | None, str, tuple[bool, bool, bool]]:
        """Identity as written, ignoring how it was spelt around it and conditionality."""
        return (self.catalog, self.db, self.name, self.quoted)


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
    rendering = render_template(work.sql, work.definitions, budget)
    return replace(
        work,
        template_path=rendering.template_path,
        texts=(rendering.sql, *rendering.variants),
        reason=rendering.reason,
        missing=rendering.missing_definitions,
    )


def parse(work: _Work) -> _Work:
    """Parse every text; the default text must parse, variants that fail are dropped."""
    parsed: list[tuple[exp.Expr, ...]] = []
    texts: list[str] = []
    for index, text in enumerate(work.texts):
        try:
            statements = _parse_statements(text, work.dialect)
        except Exception as exc:  # noqa: BLE001 - every parser failure means unparsed
            if index == 0:
                return _unparsed(work, _join(work.reason, f"parse error: {_brief(exc)}"))
            logger.debug("branch variant not parsed: %s", _brief(exc))
            continue
        if index == 0 and not statements:
            return _unparsed(work, _join(work.reason, "empty"))
        parsed.append(statements)
        texts.append(text)
    return replace(work, statements=tuple(parsed), texts=tuple(texts))


def _parse_statements(text: str, dialect: str | None) -> tuple[exp.Expr, ...]:
    statements = tuple(s for s in sqlglot.parse(text, read=dialect) if s is not None)
    for statement in statements:
        if isinstance(statement, exp.Command):
            keyword = str(statement.this or "").upper() or "?"
            raise ValueError(f"statement not understood by sqlglot ({keyword} ...)")
    return statements


def collect(work: _Work) -> _Work:
    """Collect real tables via scopes; drop tables the query itself creates."""
    source = work.source_text
    default_keys: set[tuple[object, ...]] = set()
    reads: dict[tuple[object, ...], TableRead] = {}
    for index, (text, statements) in enumerate(zip(work.texts, work.statements)):
        created = _created_tables(statements)
        for statement in statements:
            for table in _source_tables(statement):
                if index == 0 and _is_dynamic(table):
                    return _unparsed(work, _join(work.reason, f"table name only known at run time: {table.this.sql()}"))
                read = _to_read(table, text, work.dialect)
                if read is None or _is_created(read, created):
                    continue
                if not _visible(read, text, source):
                    if index == 0:  # a name made by template logic: we cannot say what it reads
                        return _unparsed(work, _join(work.reason, f"table name {read.raw!r} is not in the query text"))
                    continue
                if index == 0:
                    default_keys.add(read.key)
                    reads.setdefault(read.key, read)
                elif read.key not in default_keys:
                    reads.setdefault(read.key, replace(read, conditional=True))
    ordered = sorted(reads.values(), key=lambda r: (r.catalog or "", r.db or "", r.name, r.quoted, r.raw))
    return replace(work, reads=tuple(ordered))


PASSES: tuple[Callable[[_Work], _Work], ...] = (check_input, render, parse, collect)
"""The passes of extract_reads, in order."""


def extract_reads(sql: str, dialect: str, definitions: Mapping[str, str] | None = None) -> Extraction:
    """The tables ``sql`` reads, in ``dialect`` (a sqlglot dialect name; "" = generic)."""
    if isinstance(sql, bytes | bytearray):
        try:
            sql = bytes(sql).decode("utf-8")
        except UnicodeDecodeError:
            return Extraction((), "plain", False, "binary or non-text input")
    work = _Work(sql=sql if isinstance(sql, str) else "", dialect=dialect or None, definitions=definitions)
    for step in PASSES:
        try:
            work = step(work)
        except Exception as exc:  # noqa: BLE001 - never raise: the query becomes unparsed
            logger.debug("pass %s failed", step.__name__, exc_info=True)
            work = _unparsed(work, f"{step.__name__} failed: {_brief(exc)}")
        if work.done:
            break
    return Extraction(work.reads, work.template_path, work.parsed, work.reason, work.missing)


def _source_tables(statement: exp.Expr) -> list[exp.Table]:
    """Tables that are sources of some scope of the statement, each node once."""
    roots: list[exp.Expr]
    if isinstance(statement, TRAVERSABLES):
        roots = [statement]
    else:  # e.g. EXPLAIN-like wrappers: traverse the outermost queries inside
        roots = [q for q in statement.find_all(exp.Query) if q.find_ancestor(exp.Query) is None]
    seen: dict[int, exp.Table] = {}
    for root in roots:
        for scope in traverse_scope(root):
            for source in scope.sources.values():
                if isinstance(source, exp.Table) and isinstance(source.this, _NAMED):
                    seen.setdefault(id(source), source)
    return list(seen.values())


def _created_tables(statements: tuple[exp.Expr, ...]) -> set[tuple[str | None, str]]:
    """(db, name), lower-cased, of tables the statements create (CREATE, CTAS, SELECT INTO)."""
    created: set[tuple[str | None, str]] = set()
    for statement in statements:
        targets: list[exp.Expr | None] = []
        if isinstance(statement, exp.Create):
            targets.append(statement.this)
        for into in statement.find_all(exp.Into):
            targets.append(into.this)
        for target in targets:
            table = target if isinstance(target, exp.Table) else (target.find(exp.Table) if target else None)
            if table is not None and table.name:
                created.add(((table.db or "").lower() or None, table.name.lower()))
    return created


def _is_created(read: TableRead, created: set[tuple[str | None, str]]) -> bool:
    name = read.name.lower()
    db = (read.db or "").lower() or None
    return (db, name) in created or (db is None and any(n == name for _, n in created))


def _visible(read: TableRead, text: str, source: str) -> bool:
    """The safety net: a read's name must stand in the parsed text and in the source."""
    name = read.name.lower()
    if name in text.lower() and name in source:
        return True
    logger.debug("dropped read %r: its name is not in the query text", read.raw)
    return False


def _part(table: exp.Table, arg: str) -> tuple[str | None, bool]:
    node = table.args.get(arg)
    if node is None:
        return None, False
    if isinstance(node, exp.Identifier):
        return node.this, bool(node.quoted)
    return node.name or node.sql(), False


def _is_dynamic(table: exp.Table) -> bool:
    """IDENTIFIER($var) and the like: a table whose name is not in the text."""
    if _DYNAMIC is None or not isinstance(table.this, _DYNAMIC):
        return False
    literal = table.this.this
    return not (
        isinstance(literal, exp.Literal) and literal.is_string
    )


def _to_read(table: exp.Table, text: str, dialect: str | None) -> TableRead | None:
    if _DYNAMIC is not None and isinstance(table.this, _DYNAMIC):  # Snowflake IDENTIFIER('db.table')
        literal = table.this.this
        if not (isinstance(literal, exp.Literal) and literal.is_string and literal.this.strip()):
            return None  # IDENTIFIER($var): the name is only known at run time
        named = exp.to_table(literal.this, dialect=dialect)
        read = _to_read(named, literal.this, dialect)
        return replace(read, raw=f"IDENTIFIER('{literal.this}')") if read else None
    catalog, catalog_quoted = _part(table, "catalog")
    db, db_quoted = _part(table, "db")
    name, name_quoted = _part(table, "this")
    if not name:
        return None
    return TableRead(
        catalog=catalog or None,
        db=db or None,
        name=name,
        quoted=(catalog_quoted, db_quoted, name_quoted),
        raw=_raw_text(table, text),
    )


def _raw_text(table: exp.Table, text: str) -> str:
    """The reference as written, from token positions; regenerated SQL if they are missing."""
    starts, ends = [], []
    for part in table.parts:
        meta = part.meta if isinstance(part, exp.Identifier) else {}
        if "start" in meta and "end" in meta:
            starts.append(meta["start"])
            ends.append(meta["end"])
    if starts:
        raw = text[min(starts) : max(ends) + 1]
        if raw.strip():
            return raw
    bare = table.copy()
    bare.set("alias", None)
    return bare.sql()


def _brief(exc: BaseException) -> str:
    errors = getattr(exc, "errors", None)
    if isinstance(exc, sqlglot.ParseError) and errors:
        first = errors[0]
        description = str(first.get("description", "")).split(" <Token")[0]
        return f"{description} (line {first.get('line')}, col {first.get('col')})"[:200]
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line[:200]


def _join(*parts: str | None) -> str:
    return "; ".join(p for p in parts if p)
