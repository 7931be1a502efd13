"""What a snapshot folder must hold, from one JSON Schema shipped in the package.

``snapshot.schema.json`` (package data, beside this module) documents the layout of a
snapshot folder (which files must exist at the top, per space and per report) and the
JSON shape of each file. The reader takes its required files from the schema
(:func:`layout`); ``python -m lineage_utils.bi.snapshot --check DIR`` validates a whole
folder against it (:func:`check_snapshot_dir`).

A folder is checked as one JSON document: each file is a key holding its parsed JSON
(``X.json`` or ``X.json.gz``, under the key ``X.json``), each sub-folder an object.
Every space listed in ``spaces.json`` gets an entry ``spaces/<token>`` and every report
listed in a space's listings an entry ``reports/<token>`` before validation, so a
missing folder or file is a missing required property, named as a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

from lineage_utils.bi.types import TOKEN
from lineage_utils.errors import ArtifactError
from lineage_utils.jsonio import read_json

SCHEMA_NAME = "snapshot.schema.json"
FOLDERS = ("spaces", "reports", "users")
"""Sub-folders of a snapshot; ``spaces`` and ``reports`` hold one folder per token."""


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The snapshot schema, read from the installed package."""
    return json.loads(resources.files("lineage_utils.bi").joinpath(SCHEMA_NAME).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Layout:
    """The files the schema requires: at the top, in each space folder, in each report folder."""

    root: tuple[str, ...]
    per_space: tuple[str, ...]
    per_report: tuple[str, ...]


def layout() -> Layout:
    schema = load_schema()
    defs = schema["$defs"]
    return Layout(root=tuple(schema["required"]), per_space=tuple(defs["space_folder"]["required"]),
                  per_report=tuple(defs["report_folder"]["required"]))


@dataclass(frozen=True)
class Problem:
    """One way a folder departs from the schema: the file, the key inside it, what is wrong."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: key '{self.key}': {self.message}" if self.key else f"{self.file}: {self.message}"


def find_file(folder: Path, relative: str) -> Path | None:
    """``relative`` (``spaces/x/reports.json``) or its ``.gz``; both present is an error."""
    plain, packed = folder / relative, folder / f"{relative}.gz"
    if plain.is_file() and packed.is_file():
        raise ArtifactError(f"{plain}: both {plain.name} and {packed.name} exist: keep one")
    return plain if plain.is_file() else packed if packed.is_file() else None


def read_file(path: Path) -> Any:
    """One snapshot file (``.json`` or ``.json.gz``); every fault names the file."""
    try:
        return read_json(path)
    except ValueError as exc:  # e.g. a number too long to convert
        raise ArtifactError(f"{path}: cannot be read: {type(exc).__name__}: {exc}") from None


def _json_files(folder: Path) -> Iterable[tuple[str, Path]]:
    """(key, path) of the JSON files directly in ``folder``: ``X.json`` and ``X.json.gz``."""
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name.endswith((".json", ".json.gz")):
            yield path.name.removesuffix(".gz"), path


def user_files(folder: Path) -> dict[str, Path]:
    """username -> path of the optional ``users/<username>.json`` (or ``.json.gz``) files."""
    out: dict[str, Path] = {}
    for key, path in _json_files(folder / "users"):
        name = key.removesuffix(".json")
        if name in out:
            raise ArtifactError(f"{path}: both {key} and {key}.gz exist: keep one")
        out[name] = path
    return out


def _tokens(document: Any, key: str) -> list[str]:
    if not isinstance(document, Mapping) or not isinstance(document.get("_embedded"), Mapping):
        return []
    items = document["_embedded"].get(key)
    return [i["token"] for i in items if isinstance(i, Mapping) and isinstance(i.get("token"), str)
            and TOKEN.fullmatch(i["token"])] if isinstance(items, list) else []


def _tree(folder: Path, problems: list[Problem], paths: dict[str, str]) -> dict[str, Any]:
    """The folder as one document; unreadable files become problems (and null entries)."""

    def load(node: dict[str, Any], prefix: str, directory: Path) -> None:
        for key, path in _json_files(directory):
            relative = f"{prefix}{key}"
            if relative in paths:
                problems.append(Problem(f"{prefix}{key}", "", f"both {key} and {key}.gz exist: keep one"))
                continue
            paths[relative] = str(path.relative_to(folder))
            try:
                node[key] = read_file(path)
            except ArtifactError as exc:
                problems.append(Problem(paths[relative], "", str(exc).split(": ", 1)[-1]))
                node[key] = None

    tree: dict[str, Any] = {}
    load(tree, "", folder)
    for name in FOLDERS:
        sub = folder / name
        if not sub.is_dir():
            continue
        tree[name] = {}
        if name == "users":
            load(tree[name], "users/", sub)
            continue
        for child in sorted(p for p in sub.iterdir() if p.is_dir()):
            tree[name][child.name] = {}
            load(tree[name][child.name], f"{name}/{child.name}/", child)
    for space in _tokens(tree.get("spaces.json"), "spaces"):
        tree.setdefault("spaces", {}).setdefault(space, {})
    for space, files in list((tree.get("spaces") or {}).items()):
        for listing in ("reports.json", "datasets.json"):
            for report in _tokens(files.get(listing), "reports"):
                tree.setdefault("reports", {}).setdefault(report, {})
    return tree


def _key_path(parts: list[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problem(error: Any, paths: Mapping[str, str]) -> list[Problem]:
    parts = list(error.absolute_path)
    cut = next((i for i, p in enumerate(parts) if isinstance(p, str) and p.endswith(".json")), None)
    if error.validator == "required" and cut is None:  # a folder without a required file
        folder = "/".join(str(p) for p in parts)
        missing = [n for n in error.validator_value if n not in error.instance]
        where = {"spaces": "spaces/{space}/", "reports": "reports/{report}/"}.get(str(parts[0]), folder) \
            if parts else "the top of the folder"
        return [Problem(f"{folder}/{name}" if folder else name, "",
                        f"required file missing (the layout requires {name} in {where})") for name in missing]
    if cut is None:
        return [Problem("/".join(str(p) for p in parts) or ".", "", error.message)]
    relative = "/".join(str(p) for p in parts[: cut + 1])
    key = _key_path(parts[cut + 1:])
    message = error.message
    if error.validator == "required":
        missing = [n for n in error.validator_value if n not in error.instance]
        key, message = _key_path([*parts[cut + 1:], missing[0]]), "required key missing"
    elif error.validator in ("anyOf", "oneOf") and error.schema.get("description"):
        message = f"{json.dumps(error.instance)[:60]} is not {error.schema['description']}"
    return [Problem(paths.get(relative, relative), key, message)]


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema())


def check_snapshot_dir(folder: Path | str) -> list[Problem]:
    """Every way ``folder`` departs from the schema (layout and shapes), sorted by file and key."""
    folder = Path(folder)
    if not folder.is_dir():
        return [Problem(str(folder), "", "folder not found")]
    problems: list[Problem] = []
    paths: dict[str, str] = {}
    tree = _tree(folder, problems, paths)
    unreadable = {p.file for p in problems}
    for error in _validator().iter_errors(tree):
        for problem in _problem(error, paths):
            if problem.file not in unreadable:
                problems.append(problem)
    return sorted(set(problems), key=lambda p: (p.file, p.key, p.message))
