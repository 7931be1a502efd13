"""dbt data tests as records: where each is declared and which nodes it touches.

A test belongs to every node it touches, not only to the one it is declared on: a
``relationships`` test declared on ``orders.customer_id`` with ``to: ref('customers')``
touches both models, and deleting either means removing that test. :class:`DbtTest`
keeps what the cleanup patch needs to find the test's entry again in the project's
YAML (file, top-level key, entry, source table, column, arguments), or the file of a
singular test. The run folder keeps them as the ``dbt_tests`` frame.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from lineage_utils.dbt.shapes import get_object, get_strings, get_text, require_text
from lineage_utils.records import records_by_id, records_frame, row_dicts

_SOURCE_CALL = re.compile(r"""source\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)""")
_OWN_KWARGS = frozenset({"model", "column_name"})
"""Arguments dbt adds to every generic test's kwargs (the tested relation and column)."""


@dataclass(frozen=True)
class DbtTest:
    """One enabled data test: its declaration and the nodes it touches.

    ``yaml_key`` is the top-level key of the YAML entry that declares a generic test
    (``models``, ``sources``, ``seeds``, ``snapshots``) and ``entry`` that entry's
    name (for a source: the source's name, with the table in ``table``); a singular
    test (a ``.sql`` file) has neither. ``arguments`` are the test's own arguments as
    dbt recorded them (``to``, ``field``, ...), as JSON text per argument.
    """

    __test__ = False  # not a pytest test class

    unique_id: str
    name: str
    path: str
    touches: tuple[str, ...]
    yaml_key: str | None = None
    entry: str | None = None
    table: str | None = None
    column: str | None = None
    attached_node: str | None = None
    namespace: str | None = None
    arguments: Mapping[str, str] = field(default_factory=dict)

    @property
    def singular(self) -> bool:
        """A test of its own ``.sql`` file (no YAML entry declares it)."""
        return self.yaml_key is None and self.path.endswith(".sql")

    def spans_models(self) -> bool:
        """True when the test touches more than one model, seed, snapshot or source."""
        return len(self.touches) > 1


def parse_test(raw: Mapping[str, Any], path: Path, where: str) -> DbtTest:
    """A manifest ``nodes`` entry of ``resource_type: test`` as a :class:`DbtTest`."""
    meta = get_object(raw, "test_metadata", path, where)
    kwargs = get_object(meta, "kwargs", path, f"{where}.test_metadata")
    key, _, entry = (get_text(raw, "file_key_name", path, where) or "").partition(".")
    touches = tuple(sorted(set(get_strings(get_object(raw, "depends_on", path, where), "nodes", path,
                                           f"{where}.depends_on"))))
    name = get_text(meta, "name", path, f"{where}.test_metadata")
    file = get_text(raw, "original_file_path", path, where) or ""
    generic = bool(name)
    return DbtTest(
        unique_id=require_text(raw, "unique_id", path, where),
        name=name or str(get_text(raw, "name", path, where) or ""),
        path=file,
        touches=touches,
        yaml_key=(key or None) if generic else None,
        entry=(entry or None) if generic else None,
        table=_source_table(kwargs, touches, entry) if generic and key == "sources" else None,
        column=get_text(raw, "column_name", path, where) if generic else None,
        attached_node=get_text(raw, "attached_node", path, where),
        namespace=get_text(meta, "namespace", path, f"{where}.test_metadata"),
        arguments={k: json.dumps(v, sort_keys=True) for k, v in sorted(kwargs.items()) if k not in _OWN_KWARGS},
    )


def _source_table(kwargs: Mapping[str, Any], touches: tuple[str, ...], source: str) -> str | None:
    """The source table a source test is declared on: from dbt's ``model`` kwarg, else ``depends_on``."""
    found = _SOURCE_CALL.search(str(kwargs.get("model") or ""))
    if found and found.group(1) == source:
        return found.group(2)
    tables = [uid.split(".", 3)[3] for uid in touches if uid.startswith("source.") and uid.count(".") >= 3
              and uid.split(".", 3)[2] == source]
    return tables[0] if len(tables) == 1 else None


def tests_per_node(tests: Iterable[DbtTest]) -> dict[str, list[str]]:
    """Node id -> the ids of the tests that touch it (declared on it or naming it)."""
    out: dict[str, list[str]] = {}
    for test in tests:
        for node in {*test.touches, *([test.attached_node] if test.attached_node else [])}:
            out.setdefault(node, []).append(test.unique_id)
    return {node: sorted(ids) for node, ids in out.items()}


def dbt_tests_frame(tests: Iterable[DbtTest]) -> pd.DataFrame:
    """The run folder's ``dbt_tests`` frame: one row per test, sorted by id."""
    return records_frame(sorted(tests, key=lambda t: t.unique_id), DbtTest)


def read_dbt_tests(frame: pd.DataFrame) -> dict[str, DbtTest]:
    """The ``dbt_tests`` frame back as records, by id."""
    def convert(values: dict) -> dict:
        return {**values, "touches": tuple(values.get("touches") or ()),
                "arguments": json.loads(values.get("arguments") or "{}")}
    return records_by_id(frame, DbtTest, convert)


def properties_paths(nodes: pd.DataFrame) -> dict[str, str]:
    """Node id -> the YAML properties file that documents it (``patch_path`` in ``dbt_nodes``)."""
    if "patch_path" not in nodes.columns:
        return {}
    return {row["unique_id"]: row["patch_path"] for row in row_dicts(nodes[["unique_id", "patch_path"]])
            if row.get("patch_path")}


def project_relative(patch_path: str | None) -> str | None:
    """``pkg://models/x.yml`` (how manifest.json names a properties file) -> ``models/x.yml``."""
    if not patch_path:
        return None
    return patch_path.split("://", 1)[1] if "://" in patch_path else patch_path
