"""Mode workspace snapshots: the raw API shapes on disk, read into frozen records.

Two forms hold the same content:

* a snapshot *folder*, laid out like the API (``spaces.json``,
  ``spaces/<space>/reports.json``, ``spaces/<space>/datasets.json``,
  ``reports/<report>/queries.json``, ``data_sources.json``, ``definitions.json``,
  ``users/<username>.json``, plus ``workspace.json``); the demo ships one and the
  stand-in server serves one;
* a *bundle*: one JSON object with the raw items (``bi_snapshot.json`` in a run).

Raw dicts stop here (``parse_bundle``); everything downstream sees records. The
reader accepts every form mode-api.md lists: counts as strings or integers, null
timestamps and names, ``collection_token`` for ``space_token``, missing ``archived``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping

from lineage_utils.atomic import write_text_atomic
from lineage_utils.bi.hal import embedded, link, query_node_id, report_node_id, username_from_href
from lineage_utils.errors import ArtifactError
from lineage_utils.jsonio import read_json
from lineage_utils.params import parse_datetime

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = "metapipeline.mode_snapshot"
BUNDLE_VERSION = 1


@dataclass(frozen=True)
class Space:
    token: str
    name: str
    space_type: str
    restricted: bool


@dataclass(frozen=True)
class DataSource:
    id: str
    token: str | None
    name: str
    adapter: str | None
    database: str | None
    host: str | None


@dataclass(frozen=True)
class Definition:
    token: str | None
    name: str
    source: str
    data_source_id: str | None


@dataclass(frozen=True)
class BiUser:
    username: str
    name: str | None
    email: str | None


@dataclass(frozen=True)
class BiReport:
    token: str
    id: str | None
    name: str
    description: str
    type: str
    space_token: str | None
    created_at: datetime | None
    updated_at: datetime | None
    edited_at: datetime | None
    last_saved_at: datetime | None
    last_run_at: datetime | None
    archived: bool
    runs_count: int
    view_count: int
    schedules_count: int
    query_count: int
    creator: str | None
    web_url: str | None
    imported_datasets: tuple[str, ...]

    @property
    def node_id(self) -> str:
        return report_node_id(self.token)

    @property
    def is_dataset(self) -> bool:
        return self.type == "DatasetReport"


@dataclass(frozen=True)
class BiQuery:
    report_token: str
    token: str
    id: str | None
    name: str
    raw_query: str
    data_source_id: str | None
    created_at: datetime | None
    updated_at: datetime | None

    @property
    def node_id(self) -> str:
        return query_node_id(self.report_token, self.token)


@dataclass(frozen=True)
class BiSnapshot:
    workspace: str
    captured_at: datetime | None
    spaces: Mapping[str, Space]
    reports: Mapping[str, BiReport]
    queries: tuple[BiQuery, ...]
    data_sources: Mapping[str, DataSource]
    definitions: Mapping[str, Definition]
    users: Mapping[str, BiUser]


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 with `Z`, an offset or none (taken as UTC); null stays None."""
    return None if value in (None, "") else parse_datetime(str(value))


def _count(value: Any) -> int:
    if value in (None, ""):
        return 0
    return int(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _report(raw: Mapping[str, Any]) -> BiReport:
    token = str(raw["token"])
    creator_href = link(raw, "creator")
    return BiReport(
        token=token,
        id=_opt_str(raw.get("id")),
        name=str(raw.get("name") or f"(untitled {token})"),
        description=str(raw.get("description") or ""),
        type=str(raw.get("type") or "Report"),
        space_token=_opt_str(raw.get("space_token") or raw.get("collection_token")),
        created_at=parse_timestamp(raw.get("created_at")),
        updated_at=parse_timestamp(raw.get("updated_at")),
        edited_at=parse_timestamp(raw.get("edited_at")),
        last_saved_at=parse_timestamp(raw.get("last_saved_at") or raw.get("edited_at")),
        last_run_at=parse_timestamp(raw.get("last_run_at")),
        archived=bool(raw.get("archived", False)),
        runs_count=_count(raw.get("runs_count")),
        view_count=_count(raw.get("view_count")),
        schedules_count=_count(raw.get("schedules_count")),
        query_count=_count(raw.get("query_count")),
        creator=username_from_href(creator_href) if creator_href else None,
        web_url=link(raw, "web"),
        imported_datasets=tuple(sorted(str(d["token"]) for d in raw.get("imported_datasets") or [] if d.get("token"))),
    )


def _query(report_token: str, raw: Mapping[str, Any]) -> BiQuery:
    return BiQuery(
        report_token=report_token,
        token=str(raw["token"]),
        id=_opt_str(raw.get("id")),
        name=str(raw.get("name") or raw["token"]),
        raw_query=str(raw.get("raw_query") or ""),
        data_source_id=_opt_str(raw.get("data_source_id")),
        created_at=parse_timestamp(raw.get("created_at")),
        updated_at=parse_timestamp(raw.get("updated_at")),
    )


def unescape_definition_source(source: str) -> str:
    """Recorded definitions hold literal backslash-n/backslash-t sequences: make them whitespace."""
    return source.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\\t", "\t")


def parse_bundle(bundle: Mapping[str, Any], origin: str = "bi_snapshot") -> BiSnapshot:
    """Raw bundle -> records. Errors name the origin and the item at fault."""
    if bundle.get("format") != BUNDLE_FORMAT:
        raise ArtifactError(f"{origin}: not a {BUNDLE_FORMAT} bundle (format={bundle.get('format')!r})")

    def each(section: str, items: Iterable[Mapping[str, Any]], build):  # noqa: ANN001
        out = []
        for index, raw in enumerate(items):
            try:
                out.append(build(raw))
            except (KeyError, TypeError, ValueError) as exc:
                ident = raw.get("token", f"#{index}") if isinstance(raw, Mapping) else f"#{index}"
                raise ArtifactError(f"{origin}: {section} {ident}: bad field: {exc}") from None
        return out

    spaces = each("space", bundle.get("spaces", []), lambda r: Space(
        token=str(r["token"]), name=str(r.get("name") or r["token"]),
        space_type=str(r.get("space_type") or "custom"),
        restricted=bool(r.get("restricted")) or r.get("default_access_level") == "restricted"))
    reports = each("report", bundle.get("reports", []), _report)
    queries: list[BiQuery] = []
    for report_token, items in sorted((bundle.get("queries") or {}).items()):
        queries.extend(each(f"report {report_token} query", items, lambda r, t=report_token: _query(t, r)))
    sources = each("data source", bundle.get("data_sources", []), lambda r: DataSource(
        id=str(r["id"]), token=_opt_str(r.get("token")), name=str(r.get("name") or r["id"]),
        adapter=_opt_str(r.get("adapter")), database=_opt_str(r.get("database")), host=_opt_str(r.get("host"))))
    definitions = each("definition", bundle.get("definitions", []), lambda r: Definition(
        token=_opt_str(r.get("token")), name=str(r["name"]),
        source=unescape_definition_source(str(r.get("source") or "")),
        data_source_id=_opt_str(r.get("data_source_id"))))
    users = each("user", (bundle.get("users") or {}).values(), lambda r: BiUser(
        username=str(r["username"]), name=_opt_str(r.get("name")), email=_opt_str(r.get("email"))))
    return BiSnapshot(
        workspace=str(bundle.get("workspace") or ""),
        captured_at=parse_timestamp(bundle.get("captured_at")),
        spaces={s.token: s for s in sorted(spaces, key=lambda s: s.token)},
        reports={r.token: r for r in sorted(reports, key=lambda r: r.token)},
        queries=tuple(sorted(queries, key=lambda q: (q.report_token, q.token))),
        data_sources={d.id: d for d in sorted(sources, key=lambda d: d.id)},
        definitions={d.name: d for d in sorted(definitions, key=lambda d: d.name)},
        users={u.username: u for u in sorted(users, key=lambda u: u.username)},
    )


def read_snapshot_dir(folder: Path | str) -> dict[str, Any]:
    """A snapshot folder (API layout) -> raw bundle. Missing pieces name the file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtifactError(f"params key 'bi.snapshot_dir': folder not found: {folder}")
    meta_path = folder / "workspace.json"
    meta = read_json(meta_path) if meta_path.is_file() else {}
    spaces_path = folder / "spaces.json"
    if not spaces_path.is_file():
        raise ArtifactError(f"{spaces_path}: file not found (not a Mode snapshot folder?)")
    spaces = embedded(read_json(spaces_path), "spaces", strict=True, origin=str(spaces_path))
    reports: list[dict[str, Any]] = []
    for space in spaces:
        for listing in ("reports.json", "datasets.json"):
            path = folder / "spaces" / str(space["token"]) / listing
            if path.is_file():
                for raw in embedded(read_json(path), "reports", strict=True, origin=str(path)):
                    reports.append({**raw, "space_token": raw.get("space_token") or space["token"]})
    queries: dict[str, list[dict[str, Any]]] = {}
    for raw in reports:
        path = folder / "reports" / str(raw["token"]) / "queries.json"
        if not path.is_file():
            raise ArtifactError(f"{path}: file not found: the queries of report {raw['token']} are missing")
        queries[str(raw["token"])] = embedded(read_json(path), "queries", strict=True, origin=str(path))
    optional = {}
    for name, key in (("data_sources.json", "data_sources"), ("definitions.json", "definitions")):
        path = folder / name
        optional[key] = embedded(read_json(path), key, strict=True, origin=str(path)) if path.is_file() else []
    users = {}
    for path in sorted((folder / "users").glob("*.json")):
        raw = read_json(path)
        users[str(raw.get("username") or path.stem)] = raw
    return {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "workspace": meta.get("workspace", ""),
        "captured_at": meta.get("captured_at"),
        "spaces": spaces,
        "reports": reports,
        "queries": queries,
        "data_sources": optional["data_sources"],
        "definitions": optional["definitions"],
        "users": users,
    }


def load_snapshot_dir(folder: Path | str) -> BiSnapshot:
    folder = Path(folder)
    return parse_bundle(read_snapshot_dir(folder), origin=str(folder))


def write_snapshot_dir(bundle: Mapping[str, Any], folder: Path | str) -> Path:
    """A raw bundle -> a snapshot folder (API layout); the inverse of ``read_snapshot_dir``.

    Reports go to their space's ``reports.json`` or, for ``DatasetReport``s,
    ``datasets.json``; a report without a ``queries`` entry gets no queries file
    (``read_snapshot_dir`` then names it as missing). Files are written atomically.
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
