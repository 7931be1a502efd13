"""One Jinja2 environment for every page and fragment: autoescaping, strict undefined.

Outside text (report names, SQL, error messages) reaches HTML only through these
templates, so it is escaped where it lands (safety invariant 7); ``|safe`` is used
only on markup built by another of these templates. Every text value is also passed
through :func:`visible` first, so invisible and direction-changing characters (NUL,
bidi overrides, zero-width characters, C0/C1 controls) show as ``<U+202E>`` markers
instead of silently reordering or hiding what a reader sees.

Links to the BI tool are built by :func:`lineage_utils.bi.hal.report_url`: from the
configured host and a report token that is checked to be a plain token, never from a
URL found in the data.
"""

from __future__ import annotations

import functools
import unicodedata
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from lineage_utils.bi.hal import bi_base_url, report_url

__all__ = ["TEMPLATES_DIR", "Html", "bi_base_url", "environment", "marker", "render", "report_url", "visible"]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

#: Whitespace that is shown as it is; every other control or format character is marked.
_KEPT = frozenset("\t\n")
_MARKED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


@functools.lru_cache(maxsize=4096)
def _is_marked(char: str) -> bool:
    return char not in _KEPT and unicodedata.category(char) in _MARKED_CATEGORIES


def marker(char: str) -> str:
    """``<U+202E>``: the visible stand-in for one invisible or direction-changing character."""
    return f"<U+{ord(char):04X}>"


def visible(text: str) -> str:
    """``text`` with every control, format (bidi, zero-width) and separator character marked.

    Tab and newline stay as they are. The result is plain text: escape it as usual.
    """
    if text.isprintable():
        return text  # fast path: no Cc/Cf/Zl/Zp/Cs character can be in a printable str
    return "".join(marker(c) if _is_marked(c) else c for c in text)


def _finalize(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    return value


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        finalize=_finalize,
    )


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


class Html:
    """Raw HTML for Jupyter; build it only from escaped pieces."""

    def __init__(self, markup: str):
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup
