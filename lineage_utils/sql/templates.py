"""Mode Liquid templates in BI SQL: forms, definitions, rendering and branch variants.

A Mode query is Liquid. This module turns one into plain SQL texts that a parser can
read, without ever letting a template variable become a table name:

1. ``split_form``: remove every ``{% form %}...{% endform %}`` block; its YAML body
   declares the parameters and their ``default`` values.
2. ``expand_definitions``: ``{{ @name }}`` / ``{{ @name as alias }}`` become
   ``(<definition sql>) AS alias``, recursively; unknown names become a placeholder
   sub-query that reads nothing.
3. ``render_liquid``: render with python-liquid and the form defaults (undefined
   variables render empty).
4. branch variants (``lineage_utils.sql.branches``): the same template rewritten so that one ``if``/``unless``/
   ``case``/``for`` block takes one chosen branch; rendering these finds the tables
   read only in a branch the defaults do not take. A variant that Liquid cannot render
   is retried with its branch's tags stripped, then with all tags stripped.
5. ``strip_template``: the fallback when Liquid cannot render: tags removed, outputs
   replaced by the literal ``1``.
6. ``render_neutral``: when the default rendering does not parse because a parameter
   without a default printed nothing, the same rendering with such variables as ``1``.

``render_template`` runs steps 1-4 and returns a ``Rendering``; branch variants stop at a
cap or a deadline (``VARIANT_TIME_BUDGET`` seconds per query). A branch never read (not
tried, or its variant not parsed) is never dropped silently: ``unread_note`` records its
number in the query's reason, and the names its text mentions are protected
(``lineage_utils.sql.mentions``). Branches are numbered from 1 in ``find_blocks`` order.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import liquid
from ruamel.yaml import YAML

from lineage_utils.errors import first_line
from lineage_utils.sql.branches import MAX_VARIANTS, TAG_RE as _TAG_RE, branch_choices, find_blocks

logger = logging.getLogger(__name__)

TemplatePath = Literal["plain", "rendered", "fallback"]

VARIANT_TIME_BUDGET = 0.5
"""Seconds one query may spend on branch variants (rendering and parsing together)."""
BUDGET_NOTE = "time budget for Liquid branches hit"
"""Starts the reason recorded when VARIANT_TIME_BUDGET stops the branch variants."""
MAX_DEFINITION_DEPTH = 16
NEUTRAL_LITERAL = "1"
"""What a ``{{ ... }}`` output becomes in the fallback: never a valid table name."""

_FORM_RE = re.compile(r"\{%-?\s*form\s*-?%\}(.*?)(?:\{%-?\s*endform\s*-?%\}|\Z)", re.S | re.I)
_DEFINITION_RE = re.compile(
    r"\{\{-?\s*@(?P<name>[\w.]+)(?:\s+as\s+(?P<alias>\w+))?\s*-?\}\}", re.I
)
_OUTPUT_RE = re.compile(r"\{\{.*?\}\}", re.S)
_UNTERMINATED_OUTPUT_RE = re.compile(r"\{\{.*$", re.M)
_UNTERMINATED_TAG_RE = re.compile(r"\{%.*$", re.M)
_LONE_DELIMITER_RE = re.compile(r"\}\}|%\}")
_ESCAPES = {"\\n": "\n", "\\t": "\t", "\\r": "\n"}


@dataclass(frozen=True)
class Variant:
    """The template with one branch taken, rendered (or stripped when Liquid failed)."""

    branch: int  # the branch's number, from 1
    sql: str
    template: str  # the expanded template with the branch taken: for the neutral retry
    note: str | None = None  # the fallback that rendered it, if any
    same: tuple[int, ...] = ()  # later branches whose variant rendered the same text

    @property
    def branches(self) -> tuple[int, ...]:
        """Every branch this text stands for."""
        return (self.branch, *self.same)


@dataclass(frozen=True)
class Rendering:
    """A template turned into SQL texts ready to parse."""

    sql: str  # the rendering under the form defaults (or the fallback text)
    variants: tuple[Variant, ...]  # renderings where one branching block takes another branch
    template_path: TemplatePath
    reason: str | None  # why the fallback was taken, or what was wrong with form/definitions
    missing_definitions: tuple[str, ...] = ()
    untried: tuple[tuple[int, str], ...] = ()  # (branch, why): stopped by the cap or the deadline
    defaults: Mapping[str, Any] = field(default_factory=dict)  # the form defaults it rendered with


def has_template(sql: str) -> bool:
    """True when the text holds any Liquid delimiter."""
    return "{{" in sql or "{%" in sql


def split_form(sql: str) -> tuple[str, str | None]:
    """Remove every ``{% form %}`` block; return the remaining SQL and the joined YAML."""
    bodies = [m.group(1) for m in _FORM_RE.finditer(sql)]
    if not bodies:
        return sql, None
    return _FORM_RE.sub("", sql), "\n".join(bodies)


def parse_form(form_yaml: str | None) -> tuple[dict[str, Any], str | None]:
    """Return ``{param: default}`` from a form body, and a problem description if any."""
    if not form_yaml or not form_yaml.strip():
        return {}, None
    defaults, problem = _parse_form_cached(form_yaml)
    return copy.deepcopy(defaults), problem


@functools.lru_cache(maxsize=4096)
def _parse_form_cached(form_yaml: str) -> tuple[dict[str, Any], str | None]:
    """parse_form's work, memoised: reports copy their forms, and YAML parsing is slow."""
    try:
        data = YAML(typ="safe", pure=True).load(form_yaml)
    except Exception as exc:  # noqa: BLE001 - any YAML problem is reported, not raised
        return {}, f"form YAML unreadable: {first_line(exc)}"
    if not isinstance(data, Mapping):
        return {}, "form YAML is not a mapping of parameters"
    defaults: dict[str, Any] = {}
    for name, spec in data.items():
        if isinstance(spec, Mapping) and "default" in spec:
            defaults[str(name)] = spec["default"]
    return defaults, None


def _unescape(text: str) -> str:
    for escaped, plain in _ESCAPES.items():
        text = text.replace(escaped, plain)
    return text


def expand_definitions(
    sql: str, definitions: Mapping[str, str] | None
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Replace ``{{ @name [as alias] }}`` by ``(<sql>) AS alias``, recursively.

    Returns the expanded text, the names whose text is unknown, and problems (cycles,
    depth) described in words.
    """
    known = {name: _unescape(text) for name, text in (definitions or {}).items()}
    missing: set[str] = set()
    problems: list[str] = []

    def expand(text: str, stack: tuple[str, ...]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group("name")
            alias = match.group("alias") or name.replace(".", "_")
            body = known.get(name)
            if body is None:
                missing.add(name)
                return f"(SELECT 1) AS {alias}"
            if name in stack or len(stack) >= MAX_DEFINITION_DEPTH:
                problems.append(f"definition cycle or depth limit at @{name}")
                return f"(SELECT 1) AS {alias}"
            body, _ = split_form(body)
            inner = expand(body, (*stack, name)).strip().rstrip(";").strip()
            return f"(\n{inner}\n) AS {alias}"

        return _DEFINITION_RE.sub(replace, text)

    return expand(sql, ()), tuple(sorted(missing)), tuple(dict.fromkeys(problems))


def definitions_used(sql: str, definitions: Mapping[str, str] | None) -> dict[str, str]:
    """The definitions ``sql`` refers to, directly or through other definitions.

    Only these change what the query reads, so only these belong in a cache key.
    """
    known = definitions or {}
    used: dict[str, str] = {}
    pending = [sql]
    while pending:
        text = pending.pop()
        if "@" not in text:
            continue
        for match in _DEFINITION_RE.finditer(text):
            name = match.group("name")
            if name in known and name not in used:
                used[name] = known[name]
                pending.append(known[name])
    return dict(sorted(used.items()))


class _NeutralUndefined(liquid.Undefined):
    """An undefined variable that prints the neutral literal instead of nothing."""

    def __str__(self) -> str:
        return NEUTRAL_LITERAL


def _environment(undefined: type[liquid.Undefined] = liquid.Undefined) -> liquid.Environment:
    env = liquid.Environment(undefined=undefined, strict_filters=False)  # unknown filters: ignored, not fatal
    env.loop_iteration_limit = 10_000
    env.output_stream_limit = 5_000_000
    return env


_ENV = _environment()
_NEUTRAL_ENV = _environment(_NeutralUndefined)


def render_liquid(sql: str, defaults: Mapping[str, Any]) -> str:
    """Render with python-liquid; undefined variables render empty. Raises on bad syntax."""
    return _ENV.from_string(sql).render(**dict(defaults))


def render_neutral(sql: str, definitions: Mapping[str, str] | None = None) -> str | None:
    """The default rendering again, but undefined variables print the neutral literal.

    A parameter without a default renders empty and often breaks the SQL around it
    (``WHERE amount > ``); this rendering keeps such a query parseable. A variable used
    as a table name becomes ``1``, which no parser accepts as a table. None when
    Liquid cannot render the template at all.
    """
    body, form_yaml = split_form(sql)
    defaults, _ = parse_form(form_yaml)
    expanded, _, _ = expand_definitions(body, definitions)
    try:
        return _NEUTRAL_ENV.from_string(expanded).render(**dict(defaults))
    except Exception:  # noqa: BLE001 - no neutral rendering; the caller keeps its parse error
        return None


def strip_template(sql: str) -> str:
    """The fallback: drop ``{% %}`` tags, turn ``{{ }}`` outputs into a neutral literal."""
    text = _TAG_RE.sub(" ", sql)
    text = _OUTPUT_RE.sub(NEUTRAL_LITERAL, text)
    # an unterminated delimiter swallows the rest of its line: what follows it is template
    text = _UNTERMINATED_OUTPUT_RE.sub(NEUTRAL_LITERAL, text)
    text = _UNTERMINATED_TAG_RE.sub(" ", text)
    return _LONE_DELIMITER_RE.sub(" ", text)


def render_variant(number: int, template: str, piece: tuple[int, int], defaults: Mapping[str, Any]) -> Variant:
    """Render one variant; when Liquid fails, strip the taken branch's tags, then all tags.

    The default rendering succeeded, so a failure is in the branch (a filter error, a
    loop limit): stripping only that branch keeps the rest of the query rendered.
    """
    try:
        return Variant(number, render_liquid(template, defaults), template)
    except Exception as exc:  # noqa: BLE001 - any Liquid failure: the fallbacks below
        problem = f"branch {number}: Liquid rendering failed ({type(exc).__name__}: {first_line(exc)})"
    start, end = piece
    try:
        text = render_liquid(template[:start] + strip_template(template[start:end]) + template[end:], defaults)
        return Variant(number, text, template, f"{problem}; its tags stripped")
    except Exception:  # noqa: BLE001 - the last fallback never fails
        return Variant(number, strip_template(template), template, f"{problem}; all tags stripped")


def render_variant_neutral(variant: Variant, defaults: Mapping[str, Any]) -> str | None:
    """A variant rendered with undefined variables as the neutral literal (see render_neutral)."""
    if variant.note is not None:  # already a fallback text: Liquid does not render it
        return None
    try:
        return _NEUTRAL_ENV.from_string(variant.template).render(**dict(defaults))
    except Exception:  # noqa: BLE001 - no neutral rendering: the parse error stands
        return None


def render_template(
    sql: str,
    definitions: Mapping[str, str] | None = None,
    max_variants: int = MAX_VARIANTS,
    deadline: float | None = None,
) -> Rendering:
    """Turn a Mode query into SQL: the default rendering plus branch variants.

    ``deadline`` (a ``time.perf_counter()`` value) stops rendering variants once passed;
    the branches left are listed in ``untried`` and the reason says how many.
    """
    if not has_template(sql):
        return Rendering(sql, (), "plain", None)
    body, form_yaml = split_form(sql)
    defaults, form_problem = parse_form(form_yaml)
    expanded, missing, problems = expand_definitions(body, definitions)
    notes = [p for p in (form_problem, *problems) if p]
    if missing:
        notes.append(f"unknown definitions: {', '.join('@' + m for m in missing)}")
    try:
        rendered = render_liquid(expanded, defaults)
    except Exception as exc:  # noqa: BLE001 - any Liquid failure means the fallback
        reason = f"Liquid rendering failed ({type(exc).__name__}: {first_line(exc)}); tags stripped"
        logger.debug("template fallback: %s", reason)
        return Rendering(strip_template(expanded), (), "fallback", "; ".join([reason, *notes]), missing)
    if "{%" not in expanded:  # outputs only: no branch to take
        return Rendering(rendered, (), "rendered", "; ".join(notes) or None, missing, defaults=defaults)
    blocks = find_blocks(expanded)
    branches = sum(len(block.bodies) for block in blocks)
    variants: dict[str, Variant] = {rendered: Variant(0, rendered, expanded)}
    untried: list[tuple[int, str]] = []
    for number, template, piece in branch_choices(expanded, blocks):
        if number > max_variants:
            notes.append(f"{branches} Liquid branches, only {max_variants} tried")
            untried = [(n, "not tried (variant cap)") for n in range(number, branches + 1)]
            break
        if deadline is not None and time.perf_counter() > deadline:
            notes.append(f"{BUDGET_NOTE} after {number - 1} of {min(branches, max_variants)}")
            untried = [(n, "not tried (time budget)") for n in range(number, branches + 1)]
            break
        variant = render_variant(number, template, piece, defaults)
        if variant.note:
            notes.append(variant.note)
        known = variants.setdefault(variant.sql, variant)
        if known is not variant:
            variants[variant.sql] = replace(known, same=(*known.same, number))
    unique = tuple(v for v in variants.values() if v.branch)
    return Rendering(rendered, unique, "rendered", "; ".join(notes) or None, missing, tuple(untried), defaults)
