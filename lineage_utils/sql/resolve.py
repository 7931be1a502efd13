"""Resolve table reads against the relations of a dbt manifest.

Names are compared after sqlglot's identifier normalisation for the data source's
dialect (Snowflake folds unquoted names to upper case, Postgres to lower case, some
dialects are case-insensitive even when quoted, MySQL keeps case). dbt creates its
relations with unquoted names, so a relation's parts are normalised as unquoted
identifiers; a quoted read must then equal the normalised part exactly.

Missing parts are filled from the data source: the default database, and for a bare
table name the schema search path (the first schema holding a match wins), falling
back to any schema of the default database.

Several dbt nodes may name one relation: a seed loaded into a raw schema that is also
declared as a source (or a source declared over a model's table). They are one table, so
a read of it is resolved, linked to every such node; it is ambiguous only when the
matches are different relations.

A data source that is not where dbt builds (``bi.data_sources.<id>.warehouse: false``)
reads nothing of dbt's: :func:`outside_warehouse` turns what a read would have resolved
to into an external reference that says so.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from lineage_utils.errors import ParamsError
from lineage_utils.sql.mentions import mentioned_relations
from lineage_utils.sql.tables import TableRead

logger = logging.getLogger(__name__)

RefStatus = Literal["resolved", "ambiguous", "external", "unparsed"]

_PLACEHOLDER = "x"

ADAPTER_DIALECTS: dict[str, str] = {
    "jdbc:snowflake": "snowflake",
    "jdbc:bigquery": "bigquery",
    "jdbc:postgresql": "postgres",
    "jdbc:postgres": "postgres",
    "jdbc:redshift": "redshift",
    "jdbc:databricks": "databricks",
    "jdbc:spark": "spark",
    "jdbc:hive": "hive",
    "jdbc:impala": "hive",
    "jdbc:trino": "trino",
    "jdbc:presto": "presto",
    "jdbc:mysql": "mysql",
    "jdbc:sqlserver": "tsql",
    "jdbc:athena": "athena",
    "jdbc:oracle": "oracle",
    "jdbc:oracleadb": "oracle",
    "jdbc:clickhouse": "clickhouse",
    "jdbc:druid": "druid",
    "jdbc:vertica": "postgres",
    "jdbc:treasuredata": "presto",
    "duckdb": "duckdb",
    "jdbc:duckdb": "duckdb",
    "jdbc:sqlite": "sqlite",
}
"""Mode data-source ``adapter`` values and the sqlglot dialect that reads their SQL."""


def dialect_for_adapter(adapter: str | None, overrides: Mapping[str, str] | None = None) -> str:
    """The sqlglot dialect for a Mode adapter; ``overrides`` (adapter -> dialect) win.

    An unknown or missing adapter gives "" (sqlglot's generic dialect) and is logged.
    """
    key = (adapter or "").strip().lower()
    for source in (overrides or {}), ADAPTER_DIALECTS:
        lowered = {k.strip().lower(): v for k, v in source.items()}
        if key in lowered:
            return lowered[key]
    logger.warning("unknown data-source adapter %r: using sqlglot's generic dialect", adapter)
    return ""


@dataclass(frozen=True)
class Relation:
    """One dbt node's relation, from the manifest."""

    unique_id: str
    database: str | None
    schema: str | None
    identifier: str | None  # alias / identifier; None for ephemeral (never matches)


@dataclass(frozen=True)
class Resolution:
    """How one read resolved."""

    status: RefStatus
    candidates: tuple[str, ...]  # unique_ids, sorted
    reason: str


Parts = tuple[str | None, str | None, str]


@functools.lru_cache(maxsize=200_000)
def normalize_parts(
    parts: Parts, quoted: tuple[bool, bool, bool], dialect: str
) -> Parts:
    """(catalog, db, name) normalised as sqlglot does for ``dialect`` (memoised: pure).

    Every part is normalised inside a fully qualified table, so context-sensitive
    dialects (BigQuery) treat reads and relations alike.
    """
    identifiers = [
        exp.Identifier(this=part if part is not None else _PLACEHOLDER, quoted=q)
        for part, q in zip(parts, quoted)
    ]
    table = exp.Table(this=identifiers[2], db=identifiers[1], catalog=identifiers[0])
    normalizer = Dialect.get_or_raise(dialect or None)
    out = []
    for part, identifier in zip(parts, (table.args["catalog"], table.args["db"], table.this)):
        out.append(None if part is None else normalizer.normalize_identifier(identifier).this)
    return out[0], out[1], out[2]  # type: ignore[return-value]


def normalize_read(read: TableRead, dialect: str) -> Parts:
    """A read's (catalog, db, name) in the dialect's normal form."""
    return normalize_parts((read.catalog, read.db, read.name), read.quoted, dialect)


@dataclass(frozen=True)
class _Entry:
    database: str | None
    schema: str | None
    unique_id: str
    display: str


class RelationIndex:
    """The manifest's relations, keyed by normalised identifier, for resolving reads."""

    def __init__(self, relations: Iterable[Relation], dialect: str) -> None:
        try:
            Dialect.get_or_raise(dialect or None)
        except ValueError as exc:
            raise ParamsError(f"unknown SQL dialect {dialect!r} for a data source: {exc}") from exc
        self.dialect = dialect
        self._by_name: dict[str, list[_Entry]] = defaultdict(list)
        self._identifiers: dict[str, set[str]] = defaultdict(set)
        self._memo: dict[tuple[object, ...], Resolution] = {}
        for relation in relations:
            if not relation.identifier:
                continue
            database, schema, name = normalize_parts(
                (relation.database, relation.schema, relation.identifier), (False, False, False), dialect
            )
            display = ".".join(p for p in (relation.database, relation.schema, relation.identifier) if p)
            self._by_name[name].append(_Entry(database, schema, relation.unique_id, display))
            self._identifiers[relation.identifier.lower()].add(relation.unique_id)

    def _norm(self, value: str | None) -> str | None:
        if value is None:
            return None
        text, quoted = _unquote(value)
        return normalize_parts((None, None, text), (False, False, quoted), self.dialect)[2]

    def resolve(
        self, read: TableRead, default_database: str | None = None, search_path: Sequence[str] = ()
    ) -> Resolution:
        """Resolve one read; see the module docstring for the rules."""
        parts = normalize_read(read, self.dialect)
        memo_key = (parts, default_database, search_path if isinstance(search_path, tuple) else tuple(search_path))
        known = self._memo.get(memo_key)
        if known is None:  # the normalised name decides: reads spelt differently share the answer
            known = self._memo[memo_key] = self._resolve(parts, default_database, search_path)
        return known

    def _resolve(self, parts: Parts, default_database: str | None, search_path: Sequence[str]) -> Resolution:
        catalog, db, name = parts
        shown = ".".join(p for p in parts if p is not None)
        entries = self._by_name.get(name, [])
        default_db = self._norm(default_database)
        if catalog is not None:
            matches = [e for e in entries if e.database == catalog and e.schema == db]
            return _decide(matches, shown, "by its full name")
        if db is not None:
            matches = [e for e in entries if e.schema == db and _in_db(e, default_db)]
            where = f"in default database '{default_database}'" if default_db else "in any database"
            return _decide(matches, shown, where)
        in_db = [e for e in entries if _in_db(e, default_db)]
        for entry_text in search_path:
            sp_db, sp_schema = self._search_entry(entry_text, default_db)
            matches = [e for e in entries if e.schema == sp_schema and _in_db(e, sp_db)]
            if matches:
                return _decide(matches, shown, f"via search path schema '{entry_text}'")
        where = "in any schema"
        if default_db:
            where += f" of default database '{default_database}'"
        if search_path:
            where += " (outside the search path)"
        return _decide(in_db, shown, where)

    def _search_entry(self, text: str, default_db: str | None) -> tuple[str | None, str | None]:
        pieces = [p for p in text.split(".") if p]
        if len(pieces) >= 2:
            return self._norm(pieces[-2]), self._norm(pieces[-1])
        return default_db, self._norm(pieces[0] if pieces else text)

    def mentions(self, sql: str) -> tuple[str, ...]:
        """unique_ids whose identifier the text mentions as a name in this dialect (any case).

        Only a conservative guard for unparsed SQL, never a resolution: see
        ``lineage_utils.sql.mentions`` for what counts (keywords such as ``ALL`` do not).
        """
        return mentioned_relations(self._identifiers, sql, self.dialect)


def _in_db(entry: _Entry, database: str | None) -> bool:
    return database is None or entry.database == database


def _unquote(value: str) -> tuple[str, bool]:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"`":
        return value[1:-1], True
    if len(value) >= 2 and value[0] == "[" and value[-1] == "]":
        return value[1:-1], True
    return value, False


def outside_warehouse(would: Resolution, data_source: str) -> Resolution:
    """The external reference a read of a data source that is not the dbt warehouse is.

    ``would`` is how the read resolves as if the data source were the warehouse; its
    candidates are named in the reason (evidence for a wrongly marked data source) and
    linked to nothing.
    """
    note = f"data source {data_source} is not the dbt warehouse (warehouse: false)"
    if would.candidates:
        return Resolution("external", (), f"{note}; as the warehouse it would be {would.status}: "
                                          f"{', '.join(would.candidates)}")
    return Resolution("external", (), note)


def _decide(matches: list[_Entry], name: str, where: str) -> Resolution:
    candidates = tuple(sorted({e.unique_id for e in matches}))
    if not candidates:
        return Resolution("external", (), f"no dbt relation named {name} {where}")
    tables = sorted({e.display for e in matches})
    if len(candidates) == 1:
        return Resolution("resolved", candidates, f"matched {tables[0]} {where}")
    if len({(e.database, e.schema) for e in matches}) == 1:  # one table that several nodes name
        return Resolution("resolved", candidates,
                          f"matched {tables[0]} {where}, one table named by {', '.join(candidates)}")
    return Resolution("ambiguous", candidates, f"{name} could be any of {', '.join(tables)} ({where})")
