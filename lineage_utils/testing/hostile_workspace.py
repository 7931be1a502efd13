"""A hostile copy of a Mode snapshot folder: every name, description and link from ``payloads``.

The copy keeps the layout and every token of the original (so the lineage, staleness and
orphans stay the same), and replaces the text a person reads: report, query, space,
data source and creator names, descriptions, and the ``_links.web.href`` of reports and
spaces. The chain run on it must show all of it inert and visible (tests/publish/).
"""

from __future__ import annotations

import json
import shutil
from itertools import cycle
from pathlib import Path
from typing import Any, Iterator

from lineage_utils.testing import payloads

#: The name shaped like a URL: pandas' ``render_links`` turned it into markup.
URL_NAME = payloads.HTML[0]
#: Names in the order they are handed out: markup and invisible characters first, so
#: every one of them lands on a report name (reports are shown on every page).
NAME_ORDER: tuple[str, ...] = payloads.HTML[1:] + payloads.INVISIBLE + tuple(
    n for n in payloads.NAMES if n not in payloads.HTML + payloads.INVISIBLE)


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _write(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _set_web(item: dict[str, Any], href: str) -> None:
    item.setdefault("_links", {}).setdefault("web", {})["href"] = href


def make_hostile_workspace(source: Path | str, target: Path | str) -> Path:
    """Copy the snapshot folder ``source`` to ``target`` with hostile text everywhere; return ``target``."""
    source, target = Path(source), Path(target)
    shutil.copytree(source, target)
    names: Iterator[str] = cycle(NAME_ORDER)
    descriptions: Iterator[str] = cycle(reversed(payloads.NAMES))
    urls: Iterator[str] = cycle(payloads.URLS)

    spaces_path = target / "spaces.json"
    spaces = _read(spaces_path)
    for space in spaces["_embedded"]["spaces"]:
        space["name"], space["description"] = next(names), next(descriptions)
        _set_web(space, next(urls))
    _write(spaces_path, spaces)

    count = 0
    for listing in sorted((target / "spaces").glob("*/*.json")):
        document = _read(listing)
        for report in document["_embedded"]["reports"]:
            # every third report carries the URL-shaped name, so stale and problem tables show it
            report["name"] = URL_NAME if count % 3 == 0 else next(names)
            report["description"] = next(descriptions)
            _set_web(report, next(urls))
            count += 1
        _write(listing, document)

    for path in sorted((target / "reports").glob("*/queries.json")):
        document = _read(path)
        for query in document["_embedded"]["queries"]:
            query["name"] = URL_NAME if count % 2 == 0 else next(names)
            count += 1
            query["raw_query"] = f"{query.get('raw_query') or ''}\n-- {payloads.HTML[0]} {payloads.INVISIBLE[1]}"
        _write(path, document)

    for path in sorted((target / "users").glob("*.json")):
        user = _read(path)
        user["name"] = next(names)
        _write(path, user)

    sources_path = target / "data_sources.json"
    if sources_path.is_file():
        document = _read(sources_path)
        for source_item in document["_embedded"]["data_sources"]:
            source_item["name"] = next(names)
        _write(sources_path, document)
    return target
