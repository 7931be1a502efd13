"""The labelled SQL corpus: exact read sets per case, accuracy per dialect and per category.

Format of tests/sql/fixtures/*.sql: a case starts with ``-- case: <name>``,
followed by header comments ``-- dialect: <sqlglot dialect>``, ``-- expect: a.b, ?c.d``
(``?`` marks a conditional read, ``UNPARSED`` an unparsable query, nothing = no reads),
``-- category: <name>`` (optional; a ``-- category:`` line before a file's first case is
the default for its cases) and ``-- definition: name = sql`` (Mode definitions, ``\\n``
allowed), then the SQL.

Expected reads are written exactly as ``extract_reads`` must return them, and compared
exactly, by this file's own rule (never through the product's normaliser or sqlglot):

* a read is ``[catalog.][db.]name``; parts are split on dots outside quotes;
* each part keeps its case as written in the SQL (no case folding, in any dialect);
* a part is quoted in the expectation (``"x"``, ```x``` or ``[x]``, any of the three)
  exactly when the product reports it quoted; a quoted part may hold dots (``"my.table"``
  is one name). BigQuery reads a backticked path as its parts: ```p.ds.t``` is written
  ```p`.`ds`.`t```; a T-SQL temp table keeps its ``#``.

A case can also check resolution against dbt relations:
``-- relations: db.schema.name, ...`` (as dbt creates them: unquoted; each one's
unique_id is its text), ``-- default_database: db``, ``-- default_schema: s1, s2`` (the
data source's search path) and ``-- resolve: <raw> = <status> [candidate ...]; ...``
with one entry per read, ``<raw>`` the reference as written in the SQL.

The accuracy test prints a table of cases, exact and % per dialect and per category
(visible with ``-s`` or ``-rA``) and asserts every dialect and the whole corpus reach
``MIN_ACCURACY`` and each of ``REQUIRED_CATEGORIES`` is exact on all of its cases.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lineage_utils.sql.reads import Extraction, extract_reads
from lineage_utils.sql.resolve import Relation, RelationIndex

logger = logging.getLogger(__name__)

CORPUS_DIR = Path(__file__).parent / "fixtures"
MIN_ACCURACY = 0.98
MIN_CATEGORY_CASES = 5
REQUIRED_CATEGORIES = (
    "insert_values_subquery",
    "procedure_body",
    "create_like_clone",
    "update_join_from",
    "tsql_no_semicolons",
    "select_into",
    "quoted_dotted_name",
    "bigquery_partition_decorator",
)
"""Categories of lineage the extractor once missed: each must be exact on all its cases."""

_HEADERS = ("dialect", "expect", "category", "definition", "relations", "default_database", "default_schema",
            "resolve")
_CLOSE = {'"': '"', "`": "`", "[": "]"}

Expected = tuple[tuple[str | None, str | None, str], tuple[bool, bool, bool], bool]
"""((catalog, db, name), quoted flags, conditional): one read as compared."""


@dataclass(frozen=True)
class Case:
    file: str
    name: str
    dialect: str
    expect: str
    sql: str
    category: str = ""
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
        file_category = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("-- case:"):
                if current:
                    cases.append(_finish(current))
                current = {"file": path.name, "name": line.split(":", 1)[1].strip(), "defs": {}, "sql": [],
                           "headers": {"category": file_category}, "in_header": True}
                continue
            if current is None:
                if line.startswith("-- category:"):
                    file_category = line.split(":", 1)[1].strip()
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
        category=raw["headers"].get("category", ""),
        definitions=raw["defs"],
        relations=raw["headers"].get("relations", ""),
        default_database=raw["headers"].get("default_database", ""),
        default_schema=raw["headers"].get("default_schema", ""),
        resolve=raw["headers"].get("resolve", ""),
    )


def split_expected(text: str) -> list[tuple[str, bool]]:
    """``a."b.c".[d]`` -> [("a", False), ("b.c", True), ("d", True)]: this file's own rule."""
    parts: list[tuple[str, bool]] = []
    i = 0
    while i <= len(text):
        if i < len(text) and text[i] in _CLOSE:
            end = text.index(_CLOSE[text[i]], i + 1)
            parts.append((text[i + 1 : end], True))
            i = end + 1
        else:
            end = text.find(".", i)
            end = len(text) if end < 0 else end
            parts.append((text[i:end], False))
            i = end
        if i < len(text) and text[i] != ".":
            raise ValueError(f"bad expected read {text!r}: text after a quoted part")
        i += 1
    if not 1 <= len(parts) <= 3 or not all(p for p, _ in parts):
        raise ValueError(f"bad expected read {text!r}: want [catalog.][db.]name")
    return [(None, False)] * (3 - len(parts)) + parts  # type: ignore[list-item]


def expected_set(case: Case) -> set[Expected] | str:
    """The expected reads, as this file's rule reads the ``expect`` header, or "UNPARSED"."""
    if case.expect.strip().upper() == "UNPARSED":
        return "UNPARSED"
    out: set[Expected] = set()
    for item in filter(None, (i.strip() for i in case.expect.split(","))):
        (catalog, cq), (db, dq), (name, nq) = split_expected(item.lstrip("?"))
        out.add(((catalog, db, name), (cq, dq, nq), item.startswith("?")))
    return out


def actual_set(case: Case, extraction: Extraction) -> set[Expected] | str:
    """What extract_reads returned, as it returned it (no normalisation)."""
    if not extraction.parsed:
        return "UNPARSED"
    return {((r.catalog, r.db, r.name), tuple(r.quoted), r.conditional) for r in extraction.reads}


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


def score(cases: list[Case]) -> tuple[dict[str, dict[str, list[int]]], list[str]]:
    """{"dialect"|"category"|"all": {key: [exact, cases]}} and the failures, one line each."""
    totals: dict[str, dict[str, list[int]]] = {k: defaultdict(lambda: [0, 0]) for k in ("dialect", "category", "all")}
    failures = []
    for case in cases:
        extraction = extract_reads(case.sql, case.dialect, case.definitions, time_budget=None)
        ok = case_ok(case, extraction)
        for kind, key in (("dialect", case.dialect), ("category", case.category or "(none)"), ("all", "all")):
            totals[kind][key][0] += ok
            totals[kind][key][1] += 1
        if not ok:
            failures.append(f"{case.file}:{case.name}: expected {expected_set(case)}, got {actual_set(case, extraction)}"
                            f" ({extraction.reason})")
    return totals, failures


def format_table(totals: dict[str, dict[str, list[int]]]) -> str:
    lines = [f"  {'sql corpus':<12} {'':<30} {'cases':>5} {'exact':>5} {'%':>7}"]
    for kind in ("dialect", "category", "all"):
        for key, (ok, n) in sorted(totals[kind].items()):
            lines.append(f"  {kind:<12} {key:<30} {n:>5} {ok:>5} {ok / n:>7.1%}")
    return "\n".join(lines)


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


def test_every_required_category_has_cases_in_several_dialects():
    for category in REQUIRED_CATEGORIES:
        cases = [c for c in CASES if c.category == category]
        assert len(cases) >= MIN_CATEGORY_CASES, (category, len(cases))
        if category not in ("tsql_no_semicolons", "bigquery_partition_decorator"):
            assert len({c.dialect for c in cases}) >= 3, (category, {c.dialect for c in cases})
    unknown = {c.category for c in CASES} - {"", *REQUIRED_CATEGORIES}
    assert not unknown, f"categories outside REQUIRED_CATEGORIES: {unknown}"


def test_expected_reads_follow_the_corpus_rule():
    assert split_expected('a."b.c"') == [(None, False), ("a", False), ("b.c", True)]
    assert split_expected("[Sales].[dbo].[a.b]") == [("Sales", True), ("dbo", True), ("a.b", True)]
    assert split_expected("`x.y`") == [(None, False), (None, False), ("x.y", True)]
    assert split_expected("#Recent") == [(None, False), (None, False), ("#Recent", False)]
    with pytest.raises(ValueError):
        split_expected("a.b.c.d")


def test_corpus_accuracy_per_dialect_and_category(capsys):
    totals, failures = score(CASES)
    with capsys.disabled():
        print("\n" + format_table(totals))
    print(format_table(totals))  # captured too: shown by -rA
    detail = "\n".join(failures)
    for dialect, (ok, n) in totals["dialect"].items():
        assert ok / n >= MIN_ACCURACY, f"{dialect}: {ok}/{n}\n{detail}"
    ok, n = totals["all"]["all"]
    assert ok / n >= MIN_ACCURACY, f"corpus: {ok}/{n}\n{detail}"
    for category in REQUIRED_CATEGORIES:
        ok, n = totals["category"][category]
        assert ok == n, f"{category}: {ok}/{n}\n{detail}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case(case):
    extraction = extract_reads(case.sql, case.dialect, case.definitions, time_budget=None)
    assert actual_set(case, extraction) == expected_set(case), extraction.reason
    if case.resolve:
        assert actual_resolution(case, extraction) == expected_resolution(case)
