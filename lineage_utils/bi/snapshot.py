"""Mode workspace snapshots: the raw API shapes on disk, read into frozen records.

Two forms hold the same content:

* a snapshot *folder*, laid out like the API (``spaces.json``,
  ``spaces/<space>/reports.json``, ``spaces/<space>/datasets.json``,
  ``reports/<report>/queries.json``, ``data_sources.json``, ``definitions.json``,
  ``users/<username>.json``, plus ``workspace.json``); the demo ships one and the
  stand-in server serves one. The layout and each file's shape are the JSON Schema
  ``snapshot.schema.json`` (see ``snapshot_layout``); any file may be gzip-compressed
  (``X.json.gz``);
* a *bundle*: one JSON object with the raw items (``bi_snapshot.json`` in a run).

Raw dicts stop here (``parse_bundle``); everything downstream sees the records of
``types`` (re-exported here), read with Mode's wire types: counts and ids as integers
or digit strings, flags as booleans or ``"true"``/``"false"``, a missing ``archived``
as unknown (None), ``collection_token`` for ``space_token``. A value of any other type
is an :class:`ArtifactError` naming the file and the key.

``read_snapshot`` reads a folder as a crawl: a file the layout requires that is absent
is a ``CrawlError`` in ``missing`` and the crawl is incomplete (it is never read as
empty). ``python -m lineage_utils.bi.snapshot --check DIR`` validates a folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TypeVar

from lineage_utils.atomic import write_text_atomic
from lineage_utils.bi import snapshot_layout
from lineage_utils.bi.hal import embedded
from lineage_utils.bi.status import CrawlError, CrawlStatus
from lineage_utils.bi.types import (BiQuery, BiReport, BiSnapshot, BiUser, DataSource, Definition, Space, Where,
                                    as_object, parse_timestamp, read_data_source, read_definition, read_query,
                                    read_report, read_space, read_user, text, timestamp,
                                    unescape_definition_source)
from lineage_utils.errors import ArtifactError

__all__ = [
    "BUNDLE_FORMAT", "BUNDLE_VERSION", "BiQuery", "BiReport", "BiSnapshot", "BiUser", "DataSource", "Definition",
    "Space", "load_snapshot_dir", "main", "parse_bundle", "parse_timestamp", "read_snapshot", "read_snapshot_dir",
    "unescape_definition_source", "write_snapshot_dir",
]

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = "metapipeline.mode_snapshot"
BUNDLE_VERSION = 1
T = TypeVar("T")


def _list(value: Any, where: Where) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise where.error(f"expected a list, got {type(value).__name__}")
    return value


def _mapping(value: Any, where: Where) -> Mapping[str, Any]:
    return {} if value is None else as_object(value, where)


def parse_bundle(bundle: Any, origin: str = "bi_snapshot") -> BiSnapshot:
    """Raw bundle -> records. Errors name the origin and the key at fault."""
    top = Where(origin)
    bundle = as_object(bundle, top)
    if bundle.get("format") != BUNDLE_FORMAT:
        raise ArtifactError(f"{origin}: key 'format': not a {BUNDLE_FORMAT} bundle "
                            f"(format={str(bundle.get('format'))[:60]!r})")

    def each(section: str, build: Callable[[Any, Where], T]) -> list[T]:
        where = top.at(section)
        return [build(raw, where.at(i)) for i, raw in enumerate(_list(bundle.get(section), where))]

    queries: list[BiQuery] = []
    for report_token, items in sorted(_mapping(bundle.get("queries"), top.at("queries")).items()):
        where = top.at("queries").at(str(report_token))
        queries.extend(read_query(str(report_token), raw, where.at(i)) for i, raw in enumerate(_list(items, where)))
    users = [read_user(raw, top.at("users").at(str(name)), str(name))
             for name, raw in _mapping(bundle.get("users"), top.at("users")).items()]
    spaces, reports = each("spaces", read_space), each("reports", read_report)
    sources, definitions = each("data_sources", read_data_source), each("definitions", read_definition)
    return BiSnapshot(
        workspace=text(bundle, "workspace", top) or "",
        captured_at=timestamp(bundle, "captured_at", top),
        spaces={s.token: s for s in sorted(spaces, key=lambda s: s.token)},
        reports={r.token: r for r in sorted(reports, key=lambda r: r.token)},
        queries=tuple(sorted(queries, key=lambda q: (q.report_token, q.token))),
        data_sources={d.id: d for d in sorted(sources, key=lambda d: d.id)},
        definitions={d.name: d for d in sorted(definitions, key=lambda d: d.name)},
        users={u.username: u for u in sorted(users, key=lambda u: u.username)},
    )


def _listing(path: Path, key: str) -> list[dict[str, Any]]:
    return embedded(snapshot_layout.read_file(path), key, strict=True, origin=str(path))


def read_snapshot(folder: Path | str) -> tuple[dict[str, Any], CrawlStatus]:
    """A snapshot folder -> (raw bundle, crawl status), as a live crawl returns them.

    Each item is read with the typed readers (a bad one names its file and key). A
    file the layout requires that is absent makes the crawl incomplete: it is named
    in the status's ``missing`` and what it would hold is left out, never taken as
    empty. Listings whose reports lack ``archived`` are noted in ``warnings``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtifactError(f"params key 'bi.snapshot_dir': folder not found: {folder}")
    layout = snapshot_layout.layout()
    missing: list[CrawlError] = []
    warnings: list[CrawlError] = []

    def need(relative: str, why: str) -> Path | None:
        path = snapshot_layout.find_file(folder, relative)
        if path is None:
            missing.append(CrawlError(target=str(folder / relative), reason=f"file not found: {why}", status=None))
        return path

    spaces_path = snapshot_layout.find_file(folder, "spaces.json")
    if spaces_path is None:
        raise ArtifactError(f"{folder / 'spaces.json'}: file not found (not a Mode snapshot folder?)")
    meta_path = snapshot_layout.find_file(folder, "workspace.json")
    meta_where = Where(str(meta_path))
    meta = as_object(snapshot_layout.read_file(meta_path), meta_where) if meta_path else {}
    spaces = _listing(spaces_path, "spaces")
    space_tokens = [read_space(raw, Where(str(spaces_path), f"_embedded.spaces[{i}]")).token
                    for i, raw in enumerate(spaces)]
    reports: dict[str, dict[str, Any]] = {}
    for space in space_tokens:
        for listing in layout.per_space:
            path = need(f"spaces/{space}/{listing}", f"the {listing} listing of space {space} is missing")
            if path is None:
                continue
            unknown = []
            for index, raw in enumerate(_listing(path, "reports")):
                report = read_report(raw, Where(str(path), f"_embedded.reports[{index}]"))
                if report.archived is None:
                    unknown.append(report.token)
                reports.setdefault(report.token, {**raw, "space_token": report.space_token or space})
            if unknown:
                warnings.append(CrawlError(target=str(path), status=None, reason=(
                    f"{len(unknown)} report(s) without 'archived' ({', '.join(unknown[:5])}"
                    f"{', ...' if len(unknown) > 5 else ''}): archived state unknown, treated as live")))
    queries: dict[str, list[dict[str, Any]]] = {}
    for token in reports:
        for name in layout.per_report:
            path = need(f"reports/{token}/{name}", f"the queries of report {token} are missing")
            if path is not None:
                items = _listing(path, "queries")
                for index, raw in enumerate(items):
                    read_query(token, raw, Where(str(path), f"_embedded.queries[{index}]"))
                queries[token] = items
    extras: dict[str, list[dict[str, Any]]] = {}
    for key, build in (("data_sources", read_data_source), ("definitions", read_definition)):
        path = need(f"{key}.json", f"no {key.replace('_', ' ')} are known (the layout requires {key}.json)")
        extras[key] = _listing(path, key) if path else []
        for index, raw in enumerate(extras[key]):
            build(raw, Where(str(path), f"_embedded.{key}[{index}]"))
    users: dict[str, Any] = {}
    for name, path in sorted(snapshot_layout.user_files(folder).items()):
        raw = snapshot_layout.read_file(path)
        users[read_user(raw, Where(str(path)), name).username] = raw
    bundle = {
        "format": BUNDLE_FORMAT, "format_version": BUNDLE_VERSION,
        "workspace": text(meta, "workspace", meta_where) or "",
        "captured_at": meta.get("captured_at") if timestamp(meta, "captured_at", meta_where) else None,
        "spaces": spaces, "reports": list(reports.values()), "queries": queries,
        "data_sources": extras["data_sources"], "definitions": extras["definitions"], "users": users,
    }
    status = CrawlStatus(complete=not missing, source="snapshot", origin=str(folder),
                         workspace=bundle["workspace"], captured_at=bundle["captured_at"], full=True,
                         missing=tuple(missing), warnings=tuple(warnings), spaces=len(spaces),
                         reports=len(reports))
    if missing:
        logger.warning("snapshot %s is incomplete: %d required file(s) missing", folder, len(missing))
    return bundle, status


def _complete(folder: Path | str) -> dict[str, Any]:
    bundle, status = read_snapshot(folder)
    if not status.complete:
        raise ArtifactError("; ".join(f"{m.target}: {m.reason}" for m in status.missing))
    return bundle


def read_snapshot_dir(folder: Path | str) -> dict[str, Any]:
    """A complete snapshot folder -> raw bundle; a missing required file is an ArtifactError naming it."""
    return _complete(folder)


def load_snapshot_dir(folder: Path | str) -> BiSnapshot:
    """A complete snapshot folder -> records; a missing required file is an ArtifactError naming it."""
    return parse_bundle(_complete(folder), origin=str(folder))


def write_snapshot_dir(bundle: Mapping[str, Any], folder: Path | str) -> Path:
    """A raw bundle -> a snapshot folder (API layout); the inverse of ``read_snapshot_dir``.

    Reports go to their space's ``reports.json`` or, for ``DatasetReport``s,
    ``datasets.json``; a report without a ``queries`` entry gets no queries file
    (``read_snapshot`` then names it as missing). Files are written atomically.
    """
    folder = Path(folder)
    workspace = str(bundle.get("workspace") or "")

    def dump(path: Path, document: Any) -> None:
        write_text_atomic(path, json.dumps(document, indent=1, ensure_ascii=False) + "\n")

    def hal(href: str, key: str, items: list[Any]) -> dict[str, Any]:
        return {"_links": {"self": {"href": href}}, "_embedded": {key: items}}

    dump(folder / "workspace.json", {"workspace": workspace, "captured_at": bundle.get("captured_at"),
                                     "format": BUNDLE_FORMAT, "format_version": BUNDLE_VERSION})
    spaces = list(bundle.get("spaces") or [])
    dump(folder / "spaces.json", hal(f"/api/{workspace}/spaces?filter=all", "spaces", spaces))
    by_space: dict[str, dict[str, list[Any]]] = {str(s["token"]): {"reports": [], "datasets": []} for s in spaces}
    for raw in bundle.get("reports") or []:
        space = str(raw.get("space_token") or raw.get("collection_token") or "")
        listing = "datasets" if raw.get("type") == "DatasetReport" else "reports"
        by_space.setdefault(space, {"reports": [], "datasets": []})[listing].append(raw)
    for space, listings in by_space.items():
        for listing, items in listings.items():
            dump(folder / "spaces" / space / f"{listing}.json",
                 hal(f"/api/{workspace}/collections/{space}/{listing}", "reports", items))
    for token, items in (bundle.get("queries") or {}).items():
        dump(folder / "reports" / token / "queries.json",
             hal(f"/api/{workspace}/reports/{token}/queries", "queries", list(items)))
    for key in ("data_sources", "definitions"):
        dump(folder / f"{key}.json", hal(f"/api/{workspace}/{key}", key, list(bundle.get(key) or [])))
    for username, raw in (bundle.get("users") or {}).items():
        dump(folder / "users" / f"{username}.json", raw)
    return folder


def check(folder: Path | str) -> tuple[list[str], str]:
    """(problems, one-line summary) of a folder: the schema first, then the typed read."""
    folder = Path(folder)
    problems = [str(p) for p in snapshot_layout.check_snapshot_dir(folder)]
    if problems:
        return problems, f"{folder}: {len(problems)} problem(s) against {snapshot_layout.SCHEMA_NAME}"
    try:
        bundle, status = read_snapshot(folder)
        snapshot = parse_bundle(bundle, origin=str(folder))
    except ArtifactError as exc:
        return [str(exc)], f"{folder}: 1 problem"
    problems = [f"{m.target}: {m.reason}" for m in status.missing]
    if problems:
        return problems, f"{folder}: {len(problems)} problem(s)"
    notes = f"; {len(status.warnings)} listing(s) without 'archived' (unknown: treated as live)" \
        if status.warnings else ""
    return [], (f"{folder}: valid Mode snapshot ({snapshot_layout.SCHEMA_NAME}): {len(snapshot.spaces)} spaces, "
                f"{len(snapshot.reports)} reports, {len(snapshot.queries)} queries, "
                f"{len(snapshot.data_sources)} data sources, {len(snapshot.definitions)} definitions, "
                f"{len(snapshot.users)} users{notes}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lineage_utils.bi.snapshot",
                                     description="Validate a Mode snapshot folder against its layout schema.")
    parser.add_argument("--check", metavar="DIR", type=Path, required=True, help="the snapshot folder to check")
    args = parser.parse_args(argv)
    problems, summary = check(args.check)
    for problem in problems:
        print(problem)
    print(summary, file=sys.stderr if problems else sys.stdout)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
