"""One Jinja2 environment for every page and fragment: autoescaping, strict undefined.

Outside text (report names, SQL, error messages) reaches HTML only through these
templates, so it is escaped where it lands (safety invariant 7); ``|safe`` is used
only on markup built by pandas with ``escape=True`` or by another of these templates.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)
