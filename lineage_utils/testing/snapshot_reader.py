"""The Mode stand-in's own reader of a snapshot folder: plain json and gzip, nothing shared.

The stand-in serves a snapshot folder as if it were Mode; the product reads the same
folder (``lineage_utils.bi.snapshot``) and crawls the stand-in. Were both sides to read
the folder with the same code, a reader bug would show on both and cancel out, so this
module reads the layout that ``lineage_utils/bi/snapshot.schema.json`` documents by
itself, with the standard library only:

* ``workspace.json`` (optional): ``{"workspace": ..., "captured_at": ...}``;
* ``spaces.json``: ``_embedded.spaces`` (``GET /api/{ws}/spaces?filter=all``);
* ``spaces/<space>/reports.json`` and ``spaces/<space>/datasets.json``, for each listed
  space: ``_embedded.reports``;
* ``reports/<report>/queries.json``, for each listed report: ``_embedded.queries``;
* ``data_sources.json`` (``_embedded.data_sources``), ``definitions.json``
  (``_embedded.definitions``);
* ``users/<username>.json`` (optional, one per report creator).

Any file may be stored gzip-compressed as ``<name>.gz``. A report keeps the first
listing it appears in and gets ``space_token`` (its own ``space_token``, else its
``collection_token``, else the space whose listing holds it), as the API's report
answers carry it. A required file that is absent, or not the HAL shape above, is a
:class:`SnapshotFolderError` naming the file: the stand-in serves complete folders only.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

__all__ = ["SnapshotFolderError", "read_folder"]

LISTINGS = ("reports.json", "datasets.json")
"""The listings of one space folder, in the order a report's first appearance is taken from."""


class SnapshotFolderError(ValueError):
    """A snapshot folder the stand-in cannot serve; the message names the file."""


def _optional(folder: Path, relative: str) -> Path | None:
    plain, packed = folder / relative, folder / f"{relative}.gz"
    if plain.is_file() and packed.is_file():
        raise SnapshotFolderError(f"{plain}: both {plain.name} and {packed.name} exist")
    return plain if plain.is_file() else packed if packed.is_file() else None


def _required(folder: Path, relative: str) -> Path:
    path = _optional(folder, relative)
    if path is None:
        raise SnapshotFolderError(f"{folder / relative}: required file not found")
    return path


def _load(path: Path) -> Any:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SnapshotFolderError(f"{path}: cannot be read: {exc}") from None


def _items(path: Path, key: str) -> list[dict[str, Any]]:
    document = _load(path)
    inner = document.get("_embedded") if isinstance(document, dict) else None
    items = inner.get(key, []) if isinstance(inner, dict) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise SnapshotFolderError(f"{path}: expected a HAL document with a list '_embedded.{key}' of objects")
    return items


def _users(folder: Path) -> dict[str, dict[str, Any]]:
    users: dict[str, dict[str, Any]] = {}
    directory = folder / "users"
    if not directory.is_dir():
        return users
    stems = sorted({p.name.removesuffix(".gz").removesuffix(".json") for p in directory.iterdir()
                    if p.is_file() and p.name.endswith((".json", ".json.gz"))})
    for stem in stems:
        path = _required(folder, f"users/{stem}.json")
        raw = _load(path)
        if not isinstance(raw, dict):
            raise SnapshotFolderError(f"{path}: expected a JSON object")
        users[str(raw.get("username") or stem)] = raw
    return users


def read_folder(folder: Path | str) -> dict[str, Any]:
    """A complete snapshot folder -> ``workspace``, ``spaces``, ``reports``, ``queries``, ``data_sources``,
    ``definitions``, ``users`` (raw API items, in folder order)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SnapshotFolderError(f"{folder}: folder not found")
    meta_path = _optional(folder, "workspace.json")
    meta = _load(meta_path) if meta_path else {}
    spaces = _items(_required(folder, "spaces.json"), "spaces")
    reports: dict[str, dict[str, Any]] = {}
    for space in spaces:
        space_token = str(space["token"])
        for listing in LISTINGS:
            for raw in _items(_required(folder, f"spaces/{space_token}/{listing}"), "reports"):
                owner = raw.get("space_token") or raw.get("collection_token") or space_token
                reports.setdefault(str(raw["token"]), {**raw, "space_token": str(owner)})
    queries = {token: _items(_required(folder, f"reports/{token}/queries.json"), "queries")
               for token in reports}
    return {
        "workspace": str(meta.get("workspace") or "") if isinstance(meta, dict) else "",
        "spaces": spaces,
        "reports": list(reports.values()),
        "queries": queries,
        "data_sources": _items(_required(folder, "data_sources.json"), "data_sources"),
        "definitions": _items(_required(folder, "definitions.json"), "definitions"),
        "users": _users(folder),
    }
