"""The labelled SQL corpus: exact read sets per case, accuracy per dialect.

Format of tests/sql/fixtures/*.sql: a case starts with ``-- case: <name>``,
followed by header comments ``-- dialect: <sqlglot dialect>``, ``-- expect: a.b, ?c.d``
(``?`` marks a conditional read, ``UNPARSED`` an unparsable query, nothing = no reads)
and ``-- definition: name = sql`` (Mode definitions, ``\\n`` allowed), then the SQL.
Expected names and reads are compared after the dialect's identifier normalisation.

A case can also check resolution against dbt relations:
``-- relations: db.schema.name, ...`` (as dbt creates them: unquoted; each one's
unique_id is its text), ``-- default_database: db``, ``-- default_schema: s1, s2`` (the
data source's search path) and ``-- resolve: <raw> = <status> [candidate ...]; ...``
with one entry per read, ``<raw>`` the reference as written in the SQL.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlglot import exp

from lineage_utils.sql.reads import Extraction, extract_reads
from lineage_utils.sql.resolve import Relation, RelationIndex, normalize_parts, normalize_read
from lineage_utils.sql.tables import table_name

logger = logging.getLogger(__name__)

CORPUS_DIR = Path(__file__).parent / "fixtures"
MIN_ACCURACY = 0.98
_HEADERS = ("dialect", "expect", "definition", "relations", "default_database", "default_schema", "resolve")


@dataclass(frozen=True)
class Case:
    file: str
    name: str
    dialect: str
    expect: str
    sql: str
    definitions: dict[str, str] = field(default_factory=dict)
    relations: str = ""
    default_database: str = ""
    default_schema: str = ""
    resolve: str = ""


def load_cases(directory: Path = CORPUS_DIR) -> list[Case]:
    """Every case of every corpus file, in file order."""
    cases: list[Case] = []
    for path in sorted(directory.glob("*.sql")):
        current: dict | None = None
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("-- case:"):
                if current:
                    cases.append(_finish(current))
                current = {"file": path.name, "name": line.split(":", 1)[1].strip(), "headers": {}, "defs": {}, "sql": [], "in_header": True}
                continue
            if current is None:
                continue
            key = line[3:].split(":", 1)[0].strip() if line.startswith("-- ") else ""
            if current["in_header"] and key in _HEADERS:
                value = line.split(":", 1)[1].strip()
                if key == "definition":
                    name, text = value.split("=", 1)
                    current["defs"][name.strip()] = text.strip()
                else:
                    current["headers"][key] = value
                continue
            current["in_header"] = False
            current["sql"].append(line)
        if current:
            cases.append(_finish(current))
    return cases


def _finish(raw: dict) -> Case:
    return Case(
        file=raw["file"],
        name=raw["name"],
        dialect=raw["headers"]["dialect"],
        expect=raw["headers"].get("expect", ""),
        sql="\n".join(raw["sql"]).strip("\n"),
        definitions=raw["defs"],
        relations=raw["headers"].get("relations", ""),
        default_database=raw["headers"].get("default_database", ""),
        default_schema=raw["headers"].get("default_schema", ""),
        resolve=raw["headers"].get("resolve", ""),
    )


def expected_set(case: Case) -> set[tuple] | str:
    """The normalised expected reads, or "UNPARSED"."""
    if case.expect.strip().upper() == "UNPARSED":
        return "UNPARSED"
    out = set()
    for item in filter(None, (i.strip() for i in case.expect.split(","))):
        conditional = item.startswith("?")
        table = exp.to_table(item.lstrip("?"), dialect=case.dialect)
        parts = (table.catalog or None, table.db or None, table_name(table.this))  # T-SQL #temp keeps its #
        quoted = tuple(
            bool(isinstance(node, exp.Identifier) and node.quoted)
            for node in (table.args.get("catalog"), table.args.get("db"), table.this)
        )
        out.add((normalize_parts(parts, quoted, case.dialect), conditional))
    return out


def actual_set(case: Case, extraction: Extraction) -> set[tuple] | str:
    if not extraction.parsed:
        return "UNPARSED"
    return {(normalize_read(r, case.dialect), r.conditional) for r in extraction.reads}


def expected_resolution(case: Case) -> set[tuple[str, str, tuple[str, ...]]]:
    """{(raw, status, candidates)} from the ``resolve`` header."""
    out = set()
    for entry in filter(None, (e.strip() for e in case.resolve.split(";"))):
        raw, outcome = (part.strip() for part in entry.rsplit("=", 1))
        status, *candidates = outcome.split()
        out.add((raw, status, tuple(sorted(candidates))))
    return out


def actual_resolution(case: Case, extraction: Extraction) -> set[tuple[str, str, tuple[str, ...]]]:
    relations = []
    for text in filter(None, (r.strip() for r in case.relations.split(","))):
        *head, name = text.split(".")
        database, schema = ([None] * (2 - len(head)) + head)[-2:]
        relations.append(Relation(text, database, schema, name))
    index = RelationIndex(relations, case.dialect)
    search_path = tuple(filter(None, (s.strip() for s in case.default_schema.split(","))))
    return {
        (read.raw, r.status, r.candidates)
        for read in extraction.reads
        for r in [index.resolve(read, case.default_database or None, search_path)]
    }


def case_ok(case: Case, extraction: Extraction) -> bool:
    if actual_set(case, extraction) != expected_set(case):
        return False
    return not case.resolve or actual_resolution(case, extraction) == expected_resolution(case)


CASES = load_cases()


def test_corpus_is_big_and_varied():
    dialects = {c.dialect for c in CASES}
    assert len(CASES) >= 150
    assert len(dialects) >= 6
    per_dialect = {d: sum(c.dialect == d for c in CASES) for d in dialects}
    for major in ("postgres", "snowflake", "bigquery", "redshift", "duckdb", "mysql", "tsql"):
        assert per_dialect[major] >= 10, per_dialect
    assert sum(c.dialect in ("databricks", "spark") for c in CASES) >= 10
    assert sum(c.dialect in ("trino", "presto", "athena") for c in CASES) >= 10
    assert sum(bool(c.resolve) for c in CASES) >= 20, "resolution cases"
    assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"


def test_corpus_accuracy_per_dialect(capsys):
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failures = []
    for case in CASES:
        extraction = extract_reads(case.sql, case.dialect, case.definitions, time_budget=None)
        totals[case.dialect][1] += 1
        if case_ok(case, extraction):
            totals[case.dialect][0] += 1
        else:
            failures.append(f"{case.file}:{case.name}: expected {expected_set(case)}, got {actual_set(case, extraction)}")
    with capsys.disabled():
        for dialect, (ok, n) in sorted(totals.items()):
            print(f"\n  sql corpus {dialect:<11} {ok}/{n} = {ok / n:.1%}", end="")
        print()
    for dialect, (ok, n) in totals.items():
        assert ok / n >= MIN_ACCURACY, f"{dialect}: {ok}/{n}\n" + "\n".join(failures)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case(case):
    extraction = extract_reads(case.sql, case.dialect, case.definitions, time_budget=None)
    assert actual_set(case, extraction) == expected_set(case)
    if case.resolve:
        assert actual_resolution(case, extraction) == expected_resolution(case)
