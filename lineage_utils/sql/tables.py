"""From sqlglot trees to table reads: scope sources, their names, and statement context.

``source_tables`` walks a statement's scopes and returns the tables that are real
sources (never CTE names, derived tables or table functions); ``to_read`` turns one into
a ``TableRead``; ``UseContext`` follows ``USE`` statements; ``created_tables`` lists what a
statement creates, so a later read of it is not external.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from sqlglot import exp
from sqlglot.optimizer import scope as _scope
from sqlglot.optimizer.scope import traverse_scope

# what traverse_scope accepts, and Snowflake's IDENTIFIER(...): guarded for older sqlglot
TRAVERSABLES = getattr(_scope, "TRAVERSABLES", (exp.Query, exp.DDL, exp.DML))
_DYNAMIC = getattr(exp, "DynamicIdentifier", None)
_NAMED = (exp.Identifier, _DYNAMIC) if _DYNAMIC else (exp.Identifier,)

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


def source_tables(statement: exp.Expr) -> list[exp.Table]:
    """Tables that are sources of some scope of the statement, each node once.

    A table named like a CTE of its scope is that CTE (sqlglot files a pivoted CTE under
    the pivot's alias), so it is left out.
    """
    roots: list[exp.Expr]
    if isinstance(statement, TRAVERSABLES):
        roots = [statement]
    else:  # e.g. EXPLAIN-like wrappers: traverse the outermost queries inside
        roots = [q for q in statement.find_all(exp.Query) if q.find_ancestor(exp.Query) is None]
    seen: dict[int, exp.Table] = {}
    # a CTE whose body is DML (WITH u AS (UPDATE ... RETURNING *)) is no scope in sqlglot
    dml_ctes = {cte.alias_or_name for cte in statement.find_all(exp.CTE) if not isinstance(cte.this, exp.Query)}
    if isinstance(statement, exp.Pivot) and isinstance(statement.this, exp.Table):  # DuckDB's PIVOT statement
        seen[id(statement.this)] = statement.this
    for table in _copied_from(statement):
        seen.setdefault(id(table), table)
    written = _written(statement)
    covered: set[int] = set()
    for scope in _scopes(statement, roots, covered):
        ctes = {name for name, source in scope.sources.items() if isinstance(source, _scope.Scope)}
        ctes |= set(getattr(scope, "cte_sources", {}) or {}) | dml_ctes
        folded = {name.lower() for name in ctes}
        # a qualified table is never a CTE; sqlglot keys sources by name, so one named like a
        # CTE (marts.orders next to WITH orders) is only in scope.tables
        candidates = [*scope.sources.values(), *(t for t in scope.tables if t.args.get("db"))]
        for source in candidates:
            if not isinstance(source, exp.Table) or not isinstance(source.this, (*_NAMED, exp.Dot)):
                continue
            if not source.args.get("db") and (source.name in ctes or _unquoted_in(source, folded)):
                continue
            if id(source) not in written:
                seen.setdefault(id(source), source)
    return list(seen.values())


def _scopes(statement: exp.Expr, roots: list[exp.Expr], covered: set[int]) -> Iterator[_scope.Scope]:
    """The scopes of ``roots``, then of queries no scope reaches (INSERT ... VALUES ((SELECT ...)))."""
    for root in roots:
        for scope in traverse_scope(root):
            covered.add(id(scope.expression))
            yield scope
    for query in statement.find_all(exp.Select, exp.SetOperation):  # outermost first
        if id(query) in covered:
            continue
        for scope in traverse_scope(query):
            covered.add(id(scope.expression))
            yield scope


def _copied_from(statement: exp.Expr) -> list[exp.Table]:
    """Tables read outside any scope: CREATE TABLE t LIKE s / (LIKE s) / CLONE s / COPY s, and
    MySQL's ``UPDATE t JOIN s ON ... SET ...`` (the joined tables hang off the target)."""
    if isinstance(statement, exp.Update) and isinstance(statement.this, exp.Table):
        joins = statement.this.args.get("joins") or []
        return [join.this for join in joins if isinstance(join.this, exp.Table)]
    if not isinstance(statement, exp.Create) or str(statement.args.get("kind") or "").upper() != "TABLE":
        return []
    nodes = [statement.args.get("clone"), *statement.find_all(exp.LikeProperty)]
    return [node.this for node in nodes if node is not None and isinstance(node.this, exp.Table)]


def _written(statement: exp.Expr) -> set[int]:
    """Ids of the tables a statement writes, which are never reads.

    SELECT ... INTO's target; UPDATE's target, and the FROM / JOIN entry that is the target
    (T-SQL ``UPDATE o ... FROM dbo.Orders o``; ``UPDATE dbo.T ... FROM dbo.T JOIN ...``).
    A subquery reading the target elsewhere in the statement is still a read.
    """
    written = {id(into.this) for into in statement.find_all(exp.Into) if isinstance(into.this, exp.Table)}
    if isinstance(statement, exp.Update) and isinstance(statement.this, exp.Table):
        target = statement.this
        written.add(id(target))
        from_ = statement.args.get("from_") or statement.args.get("from")
        for table in from_.find_all(exp.Table) if isinstance(from_, exp.Expr) else ():
            if table.find_ancestor(exp.Query) is not None:
                continue  # inside a derived table or subquery of the FROM clause
            if _same_table(table, target):
                written.add(id(table))
    return written


def _same_table(table: exp.Table, target: exp.Table) -> bool:
    """Whether a FROM entry is the UPDATE target: named by the target's alias, or the same table."""
    if not target.args.get("db") and table.alias and table.alias.lower() == target.name.lower():
        return True
    return (table.name.lower(), table.db.lower()) == (target.name.lower(), target.db.lower())


@dataclass(frozen=True)
class UseContext:
    """The database and schema a ``USE`` statement made current (None: not set)."""

    catalog: tuple[str, bool] | None = None  # (name, quoted)
    db: tuple[str, bool] | None = None

    def use(self, statement: exp.Use, dialect: str | None) -> UseContext:
        kind = str(statement.args.get("kind") or "").upper()
        target = statement.this
        if not isinstance(target, exp.Table) or kind not in ("", "SCHEMA", "DATABASE", "CATALOG"):
            return self  # USE WAREHOUSE / ROLE / ...: no effect on names
        parts = [(p.this, bool(p.quoted)) if isinstance(p, exp.Identifier) else (p.name, False) for p in target.parts]
        if kind == "CATALOG" and len(parts) == 1:
            return UseContext(parts[0], None)
        if len(parts) >= 2:
            return UseContext(parts[-2], parts[-1])
        one_part_is_database = dialect in ("snowflake", "tsql", "fabric") and kind in ("", "DATABASE")
        if one_part_is_database:
            return UseContext(parts[0], None)
        return UseContext(self.catalog, parts[0])

    def qualify(self, read: TableRead) -> TableRead:
        if read.catalog is not None or (read.db is None and self.db is None):
            return read
        if read.db is None and self.db is not None:
            catalog = self.catalog or (None, False)
            return replace(read, catalog=catalog[0], db=self.db[0], quoted=(catalog[1], self.db[1], read.quoted[2]))
        if self.catalog is not None:
            return replace(read, catalog=self.catalog[0], quoted=(self.catalog[1], read.quoted[1], read.quoted[2]))
        return read


_BLOCKS = tuple(getattr(exp, name) for name in ("IfBlock", "WhileBlock", "Block") if hasattr(exp, name))


def _unquoted_in(table: exp.Table, folded: set[str]) -> bool:
    """An unquoted name matches a CTE name in any case (WITH tmp ... FROM TMP)."""
    identifier = table.this
    return isinstance(identifier, exp.Identifier) and not identifier.quoted and identifier.this.lower() in folded


def flatten_statements(statements: tuple[exp.Expr, ...]) -> list[exp.Expr]:
    """Statements in order, with T-SQL ``IF`` / ``WHILE`` / ``BEGIN ... END`` blocks opened up.

    sqlglot puts every statement after an ``IF`` into its block; opened up, a temp table
    the block creates is seen as created before the statements that read it. A block's
    condition is kept when it holds a query (``IF EXISTS (SELECT ... FROM t)``).
    """
    out: list[exp.Expr] = []
    for statement in statements:
        if not _BLOCKS or not isinstance(statement, _BLOCKS):
            out.append(statement)
            continue
        if isinstance(statement, exp.Block):
            out.extend(flatten_statements(tuple(statement.expressions)))
            continue
        condition = statement.this
        if isinstance(condition, exp.Expr) and condition.find(exp.Query) is not None:
            out.append(condition)
        for branch in ("true", "false"):
            body = statement.args.get(branch)
            if isinstance(body, exp.Expr):
                out.extend(flatten_statements((body,)))
    return out


def table_name(identifier: exp.Expr) -> str:
    """A name part as written: T-SQL temp tables keep their ``#`` / ``##``, so never match a model."""
    name = identifier.this if isinstance(identifier, exp.Identifier) else identifier.name
    if isinstance(identifier, exp.Identifier):
        if identifier.args.get("global_") or identifier.args.get("global"):
            return f"##{name}"
        if identifier.args.get("temporary"):
            return f"#{name}"
    return str(name)


def created_tables(statements: tuple[exp.Expr, ...]) -> set[tuple[str | None, str]]:
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
                created.add(((table.db or "").lower() or None, table_name(table.this).lower()))
    return created


def is_created(read: TableRead, created: set[tuple[str | None, str]]) -> bool:
    name = read.name.lower()
    db = (read.db or "").lower() or None
    return (db, name) in created or (db is None and any(n == name for _, n in created))


def _part(table: exp.Table, arg: str) -> tuple[str | None, bool]:
    node = table.args.get(arg)
    if node is None:
        return None, False
    if isinstance(node, exp.Identifier):
        return table_name(node), bool(node.quoted)
    return node.name or node.sql(), False


def is_dynamic(table: exp.Table) -> bool:
    """IDENTIFIER($var) and the like: a table whose name is not in the text."""
    if _DYNAMIC is None or not isinstance(table.this, _DYNAMIC):
        return False
    literal = table.this.this
    return not (
        isinstance(literal, exp.Literal) and literal.is_string
    )


_PARTITION_DECORATOR_RE = re.compile(r"\$(?:\d{4,10}|__UNPARTITIONED__|__NULL__)$", re.IGNORECASE)
"""BigQuery's partition decorators (events$20240101, t$__UNPARTITIONED__): they read the base table."""


def to_read(table: exp.Table, text: str, dialect: str | None) -> TableRead | None:
    if _DYNAMIC is not None and isinstance(table.this, _DYNAMIC):  # Snowflake IDENTIFIER('db.table')
        literal = table.this.this
        if not (isinstance(literal, exp.Literal) and literal.is_string and literal.this.strip()):
            return None  # IDENTIFIER($var): the name is only known at run time
        named = exp.to_table(literal.this, dialect=dialect)
        read = to_read(named, literal.this, dialect)
        return replace(read, raw=f"IDENTIFIER('{literal.this}')") if read else None
    if isinstance(table.this, exp.Dot):  # four or more parts (T-SQL linked server): keep the last three
        parts = [(p.this, bool(p.quoted)) if isinstance(p, exp.Identifier) else (p.name, False) for p in table.parts]
        (catalog, catalog_quoted), (db, db_quoted), (name, name_quoted) = parts[-3:]
        return TableRead(catalog or None, db or None, name, (catalog_quoted, db_quoted, name_quoted),
                         _raw_text(table, text)) if name else None
    catalog, catalog_quoted = _part(table, "catalog")
    db, db_quoted = _part(table, "db")
    name, name_quoted = _part(table, "this")
    if dialect == "bigquery" and name:
        name = _PARTITION_DECORATOR_RE.sub("", name) or name
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
        if isinstance(meta.get("start"), int) and isinstance(meta.get("end"), int):
            starts.append(meta["start"])
            ends.append(meta["end"])
    if starts:
        start = min(starts)
        while start > 0 and text[start - 1] == "#":  # T-SQL temp tables: the # is no token of the name
            start -= 1
        raw = text[start : max(ends) + 1]
        if raw.strip():
            return raw
    bare = table.copy()
    bare.set("alias", None)
    return bare.sql()
