"""Mode's records as frozen dataclasses, read from raw JSON with Mode's own wire types.

Mode's Swagger (``swagger.json``) types report counts (``runs_count``, ``view_count``,
``query_count``, ``schedules_count``) and query ids as *strings*, and several flags as
strings (``"true"``/``"false"``); recordings and the demo hold integers and booleans.
The readers here accept exactly those forms and nothing else:

* a flag is ``true``/``false`` or ``"true"``/``"false"``; absent or null is *unknown*
  (None), never a silent default;
* a count or an id is a non-negative integer or a string of digits (``"12"``); a count
  that is absent, null or ``""`` is 0 (as before);
* a token (report, space, query) is a non-empty string of ``[A-Za-z0-9_-]`` (it names a
  folder of a snapshot);
* text is a string or null; a timestamp is ISO 8601 text or null.

Anything else (``"maybe"``, a list, an object; ``"x"`` for a count) raises
:class:`ArtifactError` naming the file (or endpoint) and the key. ``bool(str)`` is never
used: ``"false"`` is not archived.

``BiReport.archived`` is None when the listing omits it (Mode's dataset listings do).
Downstream an unknown archived state counts as *not archived*: the report is judged
for staleness like any live report and, when active, keeps its models alive; the
snapshot reader notes each such listing in the crawl status's warnings.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from lineage_utils.bi.hal import link, query_node_id, report_node_id, username_from_href
from lineage_utils.errors import ArtifactError
from lineage_utils.params import parse_datetime

TOKEN = re.compile(r"[A-Za-z0-9_-]+")
DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Where:
    """Where a raw object sits: the file (or endpoint) and the JSON path of the object."""

    origin: str
    key: str = ""

    def at(self, key: str | int) -> Where:
        if isinstance(key, int):
            return Where(self.origin, f"{self.key}[{key}]")
        return Where(self.origin, f"{self.key}.{key}" if self.key else key)

    def error(self, message: str) -> ArtifactError:
        return ArtifactError(f"{self.origin}: key '{self.key or '(top level)'}': {message}")


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def as_object(value: Any, where: Where) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise where.error(f"expected an object, got {_shown(value)}")
    return value


def flag(raw: Mapping[str, Any], key: str, where: Where) -> bool | None:
    """``true``/``false``/``"true"``/``"false"``; absent or null -> None (unknown)."""
    value = raw.get(key)
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise where.at(key).error(f'expected true/false (or "true"/"false"), got {_shown(value)}')


def _whole(value: Any, raw_key: str, where: Where, what: str) -> int:
    if isinstance(value, bool):
        raise where.at(raw_key).error(f"expected {what}, got {_shown(value)}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and DIGITS.fullmatch(value):
        number = int(value)
    else:
        raise where.at(raw_key).error(f"expected {what}, got {_shown(value)}")
    if number < 0:
        raise where.at(raw_key).error(f"expected {what}, got {number}")
    return number


def count(raw: Mapping[str, Any], key: str, where: Where) -> int:
    """A count: an integer >= 0 or a string of digits; absent, null or "" -> 0."""
    value = raw.get(key)
    if value is None or value == "":
        return 0
    return _whole(value, key, where, 'a count (an integer >= 0 or a string of digits such as "12")')


def ident(raw: Mapping[str, Any], key: str, where: Where) -> str | None:
    """An id as text (``12`` and ``"12"`` are both ``"12"``); absent or null -> None."""
    value = raw.get(key)
    if value is None:
        return None
    return str(_whole(value, key, where, 'an id (an integer or a string of digits such as "12")'))


def token(raw: Mapping[str, Any], key: str, where: Where, *, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not TOKEN.fullmatch(value):
        missing = "missing" if key not in raw else f"got {_shown(value)}"
        raise where.at(key).error(f"expected a token (letters, digits, '_' or '-'), {missing}")
    return value


def text(raw: Mapping[str, Any], key: str, where: Where) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise where.at(key).error(f"expected text or null, got {_shown(value)}")


def timestamp(raw: Mapping[str, Any], key: str, where: Where) -> datetime | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return parse_datetime(value)
        except (ValueError, OverflowError):
            pass
    raise where.at(key).error(f"expected an ISO 8601 timestamp or null, got {_shown(value)}")


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 with `Z`, an offset or none (taken as UTC); null stays None."""
    return None if value in (None, "") else parse_datetime(str(value))


def _href(raw: Mapping[str, Any], name: str, where: Where) -> str | None:
    links = raw.get("_links")
    if links is not None and not isinstance(links, Mapping):
        raise where.at("_links").error(f"expected an object, got {_shown(links)}")
    value = (links or {}).get(name)
    if isinstance(value, Mapping) and value.get("href") is not None and not isinstance(value["href"], str):
        raise where.at(f"_links.{name}.href").error(f"expected text, got {_shown(value['href'])}")
    return link(raw, name)


# -- records ------------------------------------------------------------------------------
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
    """A report or dataset. ``archived`` None: the listing did not say (treated as live)."""

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
    archived: bool | None
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


# -- raw -> record ------------------------------------------------------------------------
def unescape_definition_source(source: str) -> str:
    """Recorded definitions hold literal backslash-n/backslash-t sequences: make them whitespace."""
    return source.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\\t", "\t")


def _imported(raw: Mapping[str, Any], where: Where) -> tuple[str, ...]:
    items = raw.get("imported_datasets")
    if items is None:
        return ()
    if not isinstance(items, list):
        raise where.at("imported_datasets").error(f"expected a list, got {_shown(items)}")
    tokens = set()
    for index, item in enumerate(items):
        at = where.at("imported_datasets").at(index)
        value = token(as_object(item, at), "token", at, required=False)
        if value:
            tokens.add(value)
    return tuple(sorted(tokens))


def read_report(raw: Any, where: Where) -> BiReport:
    raw = as_object(raw, where)
    tok = token(raw, "token", where)
    space = token(raw, "space_token", where, required=False) or token(raw, "collection_token", where, required=False)
    creator = _href(raw, "creator", where)
    _href(raw, "web", where)
    return BiReport(
        token=tok, id=ident(raw, "id", where), name=text(raw, "name", where) or f"(untitled {tok})",
        description=text(raw, "description", where) or "", type=text(raw, "type", where) or "Report",
        space_token=space,
        created_at=timestamp(raw, "created_at", where), updated_at=timestamp(raw, "updated_at", where),
        edited_at=timestamp(raw, "edited_at", where),
        last_saved_at=timestamp(raw, "last_saved_at", where) or timestamp(raw, "edited_at", where),
        last_run_at=timestamp(raw, "last_run_at", where), archived=flag(raw, "archived", where),
        runs_count=count(raw, "runs_count", where), view_count=count(raw, "view_count", where),
        schedules_count=count(raw, "schedules_count", where), query_count=count(raw, "query_count", where),
        creator=username_from_href(creator) if creator else None, web_url=link(raw, "web"),
        imported_datasets=_imported(raw, where),
    )


def read_query(report_token: str, raw: Any, where: Where) -> BiQuery:
    raw = as_object(raw, where)
    tok = token(raw, "token", where)
    return BiQuery(
        report_token=report_token, token=tok, id=ident(raw, "id", where), name=text(raw, "name", where) or tok,
        raw_query=text(raw, "raw_query", where) or "", data_source_id=ident(raw, "data_source_id", where),
        created_at=timestamp(raw, "created_at", where), updated_at=timestamp(raw, "updated_at", where),
    )


def read_space(raw: Any, where: Where) -> Space:
    raw = as_object(raw, where)
    tok = token(raw, "token", where)
    return Space(token=tok, name=text(raw, "name", where) or tok,
                 space_type=text(raw, "space_type", where) or "custom",
                 restricted=bool(flag(raw, "restricted", where))
                 or text(raw, "default_access_level", where) == "restricted")


def read_data_source(raw: Any, where: Where) -> DataSource:
    raw = as_object(raw, where)
    source_id = ident(raw, "id", where)
    if source_id is None:
        raise where.at("id").error("expected an id, missing")
    return DataSource(id=source_id, token=text(raw, "token", where), name=text(raw, "name", where) or source_id,
                      adapter=text(raw, "adapter", where), database=text(raw, "database", where),
                      host=text(raw, "host", where))


def read_definition(raw: Any, where: Where) -> Definition:
    raw = as_object(raw, where)
    name = text(raw, "name", where)
    if not name:
        raise where.at("name").error("expected the definition's name, missing")
    return Definition(token=text(raw, "token", where), name=name,
                      source=unescape_definition_source(text(raw, "source", where) or ""),
                      data_source_id=ident(raw, "data_source_id", where))


def read_user(raw: Any, where: Where, username: str | None = None) -> BiUser:
    raw = as_object(raw, where)
    name = text(raw, "username", where) or username
    if not name:
        raise where.at("username").error("expected the user's username, missing")
    return BiUser(username=name, name=text(raw, "name", where), email=text(raw, "email", where))
