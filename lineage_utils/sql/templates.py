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
4. ``branch_variants``: the same template rewritten so that one ``if``/``unless``/
   ``case``/``for`` block takes one chosen branch; rendering these finds the tables
   read only in a branch the defaults do not take.
5. ``strip_template``: the fallback when Liquid cannot render: tags removed, outputs
   replaced by the literal ``1``.
6. ``render_neutral``: when the default rendering does not parse because a parameter
   without a default printed nothing, the same rendering with such variables as ``1``.

``render_template`` runs steps 1-4 and returns a ``Rendering``; branch variants stop at a
deadline (``VARIANT_TIME_BUDGET`` seconds per query) and the reason then says so.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import liquid
from ruamel.yaml import YAML

from lineage_utils.errors import first_line

logger = logging.getLogger(__name__)

TemplatePath = Literal["plain", "rendered", "fallback"]

MAX_VARIANTS = 32
"""At most this many branch variants are rendered per query."""

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
_TAG_RE = re.compile(r"\{%-?\s*(?P<name>\w+)(?P<args>.*?)-?%\}", re.S)
_OUTPUT_RE = re.compile(r"\{\{.*?\}\}", re.S)
_UNTERMINATED_OUTPUT_RE = re.compile(r"\{\{.*$", re.M)
_UNTERMINATED_TAG_RE = re.compile(r"\{%.*$", re.M)
_LONE_DELIMITER_RE = re.compile(r"\}\}|%\}")
_ESCAPES = {"\\n": "\n", "\\t": "\t", "\\r": "\n"}

_BRANCHING = {"if": "endif", "unless": "endunless", "case": "endcase", "for": "endfor"}
_OTHER_BLOCKS = {"capture": "endcapture", "tablerow": "endtablerow"}
_OPAQUE = {"raw": "endraw", "comment": "endcomment"}
_BRANCH_TAGS = {"elsif", "else", "when"}


@dataclass(frozen=True)
class Rendering:
    """A template turned into SQL texts ready to parse."""

    sql: str  # the rendering under the form defaults (or the fallback text)
    variants: tuple[str, ...]  # renderings where one branching block takes another branch
    template_path: TemplatePath
    reason: str | None  # why the fallback was taken, or what was wrong with form/definitions
    missing_definitions: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Block:
    """One branching Liquid block: its span and the spans of its branch bodies."""

    start: int
    end: int
    bodies: tuple[tuple[int, int], ...]


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


def find_blocks(sql: str) -> tuple[_Block, ...]:
    """Branching blocks (if/unless/case/for) with their branch bodies, in text order."""
    blocks: list[_Block] = []
    stack: list[_OpenBlock] = []
    opaque_end: str | None = None
    for match in _TAG_RE.finditer(sql):
        name = match.group("name").lower()
        if opaque_end is not None:
            if name == opaque_end:
                opaque_end = None
            continue
        if name in _OPAQUE:
            opaque_end = _OPAQUE[name]
        elif name in _BRANCHING or name in _OTHER_BLOCKS:
            # text between `case` and its first `when` is not a branch
            stack.append(_OpenBlock(name, match.start(), None if name == "case" else match.end()))
        elif name in _BRANCH_TAGS and stack and stack[-1].tag in _BRANCHING:
            stack[-1].close_body(match.start())
            stack[-1].body_from = match.end()
        elif stack and name == {**_BRANCHING, **_OTHER_BLOCKS}[stack[-1].tag]:
            block = stack.pop()
            block.close_body(match.start())
            if block.tag in _BRANCHING and block.bodies:
                blocks.append(_Block(block.start, match.end(), tuple(block.bodies)))
    return tuple(sorted(blocks, key=lambda b: (b.start, -b.end)))


class _OpenBlock:
    """A block whose end tag has not been seen yet (scanner state only)."""

    def __init__(self, tag: str, start: int, body_from: int | None) -> None:
        self.tag = tag
        self.start = start
        self.body_from = body_from
        self.bodies: list[tuple[int, int]] = []

    def close_body(self, end: int) -> None:
        if self.body_from is not None:
            self.bodies.append((self.body_from, end))


def branch_variants(sql: str, limit: int = MAX_VARIANTS) -> tuple[str, ...]:
    """Rewrite the template so that one block takes one branch; one text per (block, branch).

    The blocks enclosing a nested block are made to take the branch that holds it, so a
    table read only in a nested, non-default branch is reached too.
    """
    blocks = find_blocks(sql)
    variants: list[str] = []
    for block in blocks:
        ancestors = sorted(
            (a for a in blocks if a.start < block.start and block.end <= a.end),
            key=lambda a: a.start,
            reverse=True,
        )
        for body_start, body_end in block.bodies:
            if len(variants) >= limit:
                logger.debug("branch variants capped at %s", limit)
                return tuple(variants)
            variants.append(_take_branch(sql, block, (body_start, body_end), ancestors))
    return tuple(variants)


def _take_branch(
    sql: str, block: _Block, body: tuple[int, int], ancestors: list[_Block]
) -> str:
    piece = sql[body[0] : body[1]]
    start, end = block.start, block.end
    for ancestor in ancestors:  # innermost first
        holder = next(((s, e) for s, e in ancestor.bodies if s <= start and end <= e), None)
        if holder is None:  # between `case` and its first `when`: not rendered anyway
            break
        piece = sql[holder[0] : start] + piece + sql[end : holder[1]]
        start, end = ancestor.start, ancestor.end
    return sql[:start] + piece + sql[end:]


def render_template(
    sql: str,
    definitions: Mapping[str, str] | None = None,
    max_variants: int = MAX_VARIANTS,
    deadline: float | None = None,
) -> Rendering:
    """Turn a Mode query into SQL: the default rendering plus branch variants.

    ``deadline`` (a ``time.perf_counter()`` value) stops rendering variants once passed;
    the reason then says how many branches were left untried.
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
        return Rendering(rendered, (), "rendered", "; ".join(notes) or None, missing)
    branches = sum(len(block.bodies) for block in find_blocks(expanded))
    if branches > max_variants:
        notes.append(f"{branches} Liquid branches, only {max_variants} tried: conditional reads may be missing")
    variants: list[str] = []
    candidates = branch_variants(expanded, max_variants)
    for tried, variant in enumerate(candidates):
        if deadline is not None and time.perf_counter() > deadline:
            notes.append(
                f"{BUDGET_NOTE} after {tried} of {len(candidates)}: "
                "conditional reads may be missing"
            )
            break
        try:
            variants.append(render_liquid(variant, defaults))
        except Exception as exc:  # noqa: BLE001 - a variant that cannot render adds nothing
            logger.debug("branch variant not rendered: %s", first_line(exc))
    unique = tuple(v for v in dict.fromkeys(variants) if v != rendered)
    return Rendering(rendered, unique, "rendered", "; ".join(notes) or None, missing)
