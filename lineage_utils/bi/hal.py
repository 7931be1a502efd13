"""HAL documents as Mode shapes them: embedded lists, links, and the ids built from them.

One helper per question, shared by the snapshot reader and the API client:
``embedded`` (strict for files on disk, lenient for live answers), ``link``,
``username_from_href`` and the graph ids of reports and queries.
"""

from __future__ import annotations

import re
from typing import Any, Mapping
from urllib.parse import quote, urlsplit

from lineage_utils.errors import ArtifactError

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_WORKSPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def embedded(document: Any, key: str, *, strict: bool = False, origin: str = "") -> list[dict[str, Any]]:
    """The HAL list ``_embedded.<key>``; an ``_embedded`` without the key is an empty list.

    ``strict`` (files on disk): a document that is not HAL, a value that is not a list
    or an item that is not an object raises :class:`ArtifactError` naming ``origin``.
    Lenient (live answers): what is not a list of objects is left out.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("_embedded"), Mapping):
        if strict:
            raise ArtifactError(f"{origin}: expected a HAL document with '_embedded'")
        return []
    items = document["_embedded"].get(key, [])
    if not isinstance(items, list):
        if strict:
            raise ArtifactError(f"{origin}: '_embedded.{key}' is not a list")
        return []
    if strict:
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise ArtifactError(f"{origin}: '_embedded.{key}[{index}]' is a {type(item).__name__}, "
                                    "not an object")
        return items
    return [item for item in items if isinstance(item, Mapping)]


def link(document: Any, name: str) -> str | None:
    """The href of ``_links.<name>``, or None (templated links are returned as they are)."""
    if not isinstance(document, Mapping):
        return None
    links = document.get("_links")
    value = links.get(name) if isinstance(links, Mapping) else None
    if isinstance(value, Mapping) and isinstance(value.get("href"), str) and value["href"]:
        return str(value["href"])
    return None


def username_from_href(href: str) -> str:
    """The username a user link names: ``/api/ana`` -> ``ana``."""
    return href.rstrip("/").rsplit("/", 1)[-1]


def report_node_id(token: str) -> str:
    """The lineage graph id of a BI report (or dataset)."""
    return f"mode.report.{token}"


def query_node_id(report_token: str, token: str) -> str:
    """The lineage graph id of a BI query."""
    return f"mode.query.{report_token}.{token}"


def bi_base_url(base_url: Any) -> str | None:
    """The configured BI host as ``scheme://host[:port]`` when it is plain http(s), else None."""
    if not isinstance(base_url, str):
        return None
    try:
        parts = urlsplit(base_url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        return None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def report_url(base_url: Any, workspace: Any, token: Any) -> str | None:
    """``<base>/<workspace>/reports/<token>`` for a plain token on an http(s) host; else None."""
    base = bi_base_url(base_url)
    if base is None or not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return None
    if not isinstance(workspace, str) or not _WORKSPACE.fullmatch(workspace):
        return None
    return f"{base}/{quote(workspace, safe='')}/reports/{token}"
