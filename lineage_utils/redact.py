"""Secrets out of text: every form a credential takes on the wire, before text is stored or shown.

A host can echo what it was sent (an ``Authorization`` header in an error body, a login
URL, a debug dump), so a secret is looked for in each form it travels in: raw, base64
of ``token:secret`` and of each alone (standard and URL-safe alphabets, padded or not),
URL-encoded (``quote`` with and without ``/``, ``quote_plus``) and JSON-escaped. Longer
forms are replaced first; matching ignores case (percent-escapes come in both cases).
A form shorter than ``MIN_FORM`` characters is not looked for (it would blank out
ordinary text); real API secrets are far longer.

``redact_body`` is for text from outside (an HTTP error body): redacted first, then
whitespace collapsed and cut to ``BODY_LIMIT`` characters -- never cut first, which
could leave half a secret behind.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
from collections.abc import Iterable
from itertools import permutations
from urllib.parse import quote, quote_plus

REDACTED = "***"
BODY_LIMIT = 300
"""Characters of an outside error body kept in a message."""
MIN_FORM = 4
_READ_LIMIT = 65_536  # an error body is redacted over at most this much before it is cut


def _encodings(value: str) -> set[str]:
    raw = value.encode("utf-8")
    forms = {value, quote(value), quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1],
             json.dumps(value)[1:-1].replace("/", "\\/")}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encode(raw).decode("ascii")
        forms.update({encoded, encoded.rstrip("=")})
    return forms


def secret_forms(secrets: Iterable[str]) -> tuple[str, ...]:
    """Every form of each secret and of each ``a:b`` pair (HTTP basic auth), longest first."""
    values = tuple(dict.fromkeys(s for s in secrets if s))
    plain = set(values) | {f"{a}:{b}" for a, b in permutations(values, 2)}
    forms = {form for value in plain for form in _encodings(value) if len(form) >= MIN_FORM}
    return tuple(sorted(forms, key=lambda f: (-len(f), f)))


@functools.lru_cache(maxsize=8)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    forms = secret_forms(secrets)
    return re.compile("|".join(map(re.escape, forms)), re.IGNORECASE) if forms else None


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every form of every secret replaced by ``***``."""
    pattern = _pattern(tuple(s for s in secrets if s))
    return pattern.sub(REDACTED, text) if pattern is not None and text else text


def cap(text: str, limit: int = BODY_LIMIT) -> str:
    """``text`` on one line (whitespace collapsed), cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(0, limit - 3)] + "..."


def redact_body(text: str, secrets: Iterable[str], limit: int = BODY_LIMIT) -> str:
    """Outside text made safe to store: redacted, then collapsed and capped (in that order)."""
    return cap(redact(text[:_READ_LIMIT], secrets), limit)


def secrets_from_env(names: Iterable[str]) -> tuple[str, ...]:
    """The values of the environment variables ``names`` that are set (for redaction only)."""
    return tuple(value for value in (os.environ.get(name, "") for name in names if name) if value)
