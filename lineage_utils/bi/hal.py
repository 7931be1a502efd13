"""HAL documents as Mode shapes them: embedded lists, links, and the ids built from them.

One helper per question, shared by the snapshot reader and the API client:
``embedded`` (strict for files on disk, lenient for live answers), ``link``,
``username_from_href`` and the graph ids of reports and queries.
"""

from __future__ import annotations

from typing import Any, Mapping

from lineage_utils.errors import ArtifactError


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
    value = (document.get("_links") or {}).get(name)
    if isinstance(value, Mapping) and value.get("href"):
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
