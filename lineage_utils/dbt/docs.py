"""dbt docs blocks as records: where each is declared and which resources use it.

A docs block (``{% docs name %}...{% enddocs %}`` in a ``.md`` file) is used by a
description that calls ``{{ doc('name') }}``. manifest.json keeps no raw description
(every one is rendered), so who uses a block is read two ways, measured on dbt-core
1.11 (manifest v12):

* **exactly**, from ``doc_blocks``: dbt 1.10+ records on each node (model, seed,
  snapshot, test, analysis), each source table, and each of their columns the
  unique_ids of the docs blocks its description calls (``["doc.my_project.orders"]``);
* **conservatively**, for what records no ``doc_blocks``: exposures, metrics,
  semantic models (and their dimensions, measures, entities), saved queries, macros,
  unit tests, groups, a source's own description (``source_description``), and every
  node of a manifest older than dbt 1.10. Such a resource counts as a *possible* user
  of each block whose text (``block_contents``, which ``doc()`` renders to) occurs in
  one of its rendered descriptions. A false match only keeps a block; a block whose
  text is empty cannot be traced this way and is ``opaque`` (never removed).

``DocBlock.used_by`` holds the exact users (a column's use counts for its node),
``maybe_used_by`` the possible ones. The run folder keeps them as the ``dbt_docs``
frame (``dbt_docs_frame`` / ``read_dbt_docs``); ``load_docs`` reads a target folder's
manifest.json, naming the file and key of whatever is malformed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import pandas as pd

from lineage_utils.dbt.artifacts import find_artifact, manifest_version, read_artifact
from lineage_utils.dbt.shapes import entry, get_object, get_strings, get_text, require_text, shape_error
from lineage_utils.errors import ArtifactError
from lineage_utils.records import records_by_id, records_frame

TRACKED_SECTIONS = ("nodes", "sources")
"""Sections whose entries (and their columns) dbt 1.10+ gives ``doc_blocks``."""
UNTRACKED_SECTIONS = ("exposures", "metrics", "semantic_models", "saved_queries", "macros", "unit_tests", "groups",
                      "functions")
"""Sections whose descriptions dbt renders but records no ``doc_blocks`` for."""
_TRACKED_KINDS = frozenset({"model", "seed", "snapshot", "test", "analysis", "sql_operation", "source"})
"""Resource types of the tracked sections (a disabled one keeps its shape)."""
_DESCRIPTION_KEYS = ("description", "source_description")


@dataclass(frozen=True)
class DocBlock:
    """One docs block of the manifest's ``docs`` section, and the resources using it."""

    unique_id: str
    name: str
    package: str
    path: str
    """``original_file_path``: the ``.md`` file declaring it, relative to its package's project."""
    used_by: tuple[str, ...] = ()
    """Ids of the nodes and sources whose description, or a column's, calls it (``doc_blocks``)."""
    maybe_used_by: tuple[str, ...] = ()
    """Ids of resources without ``doc_blocks`` whose rendered descriptions contain its text."""
    opaque: bool = False
    """Its text is empty, so a use that records no ``doc_blocks`` cannot be seen: it is never removed."""


# -- reading manifest.json ----------------------------------------------------------------
def _sections(manifest: Mapping[str, Any], names: Iterable[str], path: Path) -> Iterator[tuple[str, Mapping, str]]:
    """(unique_id, raw, where) of each entry of the named sections, each one an object."""
    for section in names:
        for uid, raw in get_object(manifest, section, path).items():
            if not isinstance(raw, Mapping):
                raise shape_error(path, section, uid, "an object", raw)
            yield uid, raw, entry(section, uid)


def _disabled(manifest: Mapping[str, Any], path: Path) -> Iterator[tuple[str, Mapping, str]]:
    """Disabled entries: ``disabled`` maps an id to a list of entries (one per disabled definition)."""
    for uid, items in get_object(manifest, "disabled", path).items():
        if not isinstance(items, list):
            raise shape_error(path, "disabled", uid, "a list", items)
        for index, raw in enumerate(items):
            if not isinstance(raw, Mapping):
                raise shape_error(path, entry("disabled", uid), str(index), "an object", raw)
            yield uid, raw, f"{entry('disabled', uid)}[{index}]"


def _texts(value: Any) -> Iterator[str]:
    """Every description string anywhere inside ``value`` (nested dimensions, columns, arguments ...)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in _DESCRIPTION_KEYS and isinstance(item, str):
                yield item
            elif isinstance(item, (Mapping, list)):
                yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _tracked(uid: str, raw: Mapping[str, Any], path: Path, where: str,
             exact: dict[str, set[str]], texts: dict[str, set[str]]) -> None:
    """Record a node's or source's doc uses: its ``doc_blocks`` and its columns' (exact) where dbt wrote them."""
    columns = get_object(raw, "columns", path, where)
    if "doc_blocks" in raw:
        for doc in get_strings(raw, "doc_blocks", path, where):
            exact.setdefault(doc, set()).add(uid)
    else:
        texts.setdefault(get_text(raw, "description", path, where) or "", set()).add(uid)
    source_description = get_text(raw, "source_description", path, where)
    if source_description is not None:
        texts.setdefault(source_description, set()).add(uid)
    for name, column in columns.items():
        place = f"{where}.columns"
        if not isinstance(column, Mapping):
            raise shape_error(path, place, name, "an object", column)
        if "doc_blocks" in column:
            for doc in get_strings(column, "doc_blocks", path, f"{place}.{name}"):
                exact.setdefault(doc, set()).add(uid)
        else:
            texts.setdefault(get_text(column, "description", path, f"{place}.{name}") or "", set()).add(uid)


def parse_docs(manifest: Mapping[str, Any], path: Path) -> dict[str, DocBlock]:
    """The manifest's docs blocks by id, each with its users; a bad shape names file and key."""
    manifest_version(manifest, path)
    exact: dict[str, set[str]] = {}
    texts: dict[str, set[str]] = {}  # a rendered description -> the resources without doc_blocks having it
    for uid, raw, where in _sections(manifest, TRACKED_SECTIONS, path):
        _tracked(uid, raw, path, where, exact, texts)
    for uid, raw, where in _disabled(manifest, path):
        if raw.get("resource_type") in _TRACKED_KINDS:
            _tracked(uid, raw, path, where, exact, texts)
        else:
            for text in _texts(raw):
                texts.setdefault(text, set()).add(uid)
    for uid, raw, _where in _sections(manifest, UNTRACKED_SECTIONS, path):
        for text in _texts(raw):
            texts.setdefault(text, set()).add(uid)
    docs: dict[str, DocBlock] = {}
    for uid, raw, where in _sections(manifest, ("docs",), path):
        contents = (get_text(raw, "block_contents", path, where) or "").strip()
        maybe = {user for text, users in texts.items() if contents in text for user in users} if contents else set()
        docs[uid] = DocBlock(
            unique_id=require_text(raw, "unique_id", path, where), name=require_text(raw, "name", path, where),
            package=require_text(raw, "package_name", path, where),
            path=require_text(raw, "original_file_path", path, where),
            used_by=tuple(sorted(exact.get(uid, ()))), maybe_used_by=tuple(sorted(maybe)), opaque=not contents)
    return dict(sorted(docs.items()))


def load_docs(target_dir: Path | str, param: str = "dbt.target_dir") -> dict[str, DocBlock]:
    """The docs blocks of manifest.json (or ``.gz``) in a dbt target folder."""
    target_dir = Path(target_dir)
    found = find_artifact(target_dir, "manifest.json") if str(target_dir) and target_dir.is_dir() else None
    if found is None:
        raise ArtifactError(f"params key '{param}': no manifest.json in {target_dir}")
    return parse_docs(read_artifact(found), found)


# -- the run folder's dbt_docs frame ---------------------------------------------------------
def dbt_docs_frame(docs: Iterable[DocBlock]) -> pd.DataFrame:
    """The run folder's ``dbt_docs`` frame: one row per docs block, sorted by id."""
    return records_frame(sorted(docs, key=lambda d: d.unique_id), DocBlock)


def read_dbt_docs(frame: pd.DataFrame) -> dict[str, DocBlock]:
    """The ``dbt_docs`` frame back as records, by id."""
    def convert(values: dict) -> dict:
        return {**values, "used_by": tuple(values.get("used_by") or ()),
                "maybe_used_by": tuple(values.get("maybe_used_by") or ())}
    return dict(sorted(records_by_id(frame, DocBlock, convert).items()))


def users_of(doc: DocBlock) -> tuple[str, ...]:
    """Every resource that uses ``doc`` or may: exact and possible users, sorted."""
    return tuple(sorted({*doc.used_by, *doc.maybe_used_by}))


__all__ = ["DocBlock", "dbt_docs_frame", "load_docs", "parse_docs", "read_dbt_docs", "users_of"]
