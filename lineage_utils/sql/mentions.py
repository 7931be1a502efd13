"""Which dbt relations a text mentions: the guard for SQL whose reads are unknown.

An unparsed query, or a Liquid branch whose reads are unknown (``UNREAD_NOTE`` in its
query's reason), protects every dbt relation whose identifier it *mentions*. This is
never a resolution, only a reason not to propose a deletion, so it errs toward keeping;
but a SQL keyword is not a mention: ``UNION ALL`` does not keep a model named ``all``.

A mention is a name as sqlglot's tokenizer reads it in the query's dialect:

- an unquoted name (``VAR``) or a quoted identifier (``"x"``, ```x```, ``[x]``), and each
  part of a dotted one (BigQuery's ```proj.ds.t``` is one token), also without a
  partition decorator (``events$20240101`` mentions ``events``);
- a keyword standing where a table name can: right after ``FROM``/``JOIN``/``INTO``/
  ``UPDATE``/``TABLE``/``USING``, after a comma in a ``FROM`` list, or next to a dot
  (``schema.<kw>``, ``<kw>.table``): the user may have meant a table of that name;
- inside string literals and comments, tokenized again (so keywords there do not count
  either). Chosen for strings because an unparsed query's strings are often SQL or names
  (``EXECUTE IMMEDIATE '...'``, ``$$...$$`` script bodies, ``IDENTIFIER('db.s.t')``,
  ``information_schema`` filters, a Liquid ``assign`` of a table name); for comments
  because a commented-out join is one edit from being read again. A model named like a
  string value (``unit = 'lbps'``) is then kept: a review line, never a broken report.
- Liquid: ``{% form %}`` bodies and the inside of tags and outputs count word by word
  (tag names excepted); the SQL around them is tokenized with the delimiters blanked.

When the tokenizer fails on a text (an unterminated string) every word of it counts,
the former guard. An identifier that is not a plain word (``orders-v2``) is matched as
text, as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import Token, TokenType

from lineage_utils.sql.branches import UNREAD_NOTE, branch_bodies, unread_branches
from lineage_utils.sql.templates import expand_definitions, split_form

MAX_TOKENIZED_CHARS = 1_000_000
"""Longer texts are matched word by word (tokenizing them would cost more than it saves)."""
_MAX_DEPTH = 3
"""How deep strings inside strings are tokenized again (``$$ ... '...' ... $$``)."""

_WORD_RE = re.compile(r"[A-Za-z0-9_$]+")
_COMMENT_MARK_RE = re.compile(r"--|/\*|\*/|//|#")
_LIQUID_RE = re.compile(r"\{%-?\s*\w*(?P<tag>.*?)-?%\}|\{\{-?(?P<output>.*?)-?\}\}", re.S)
_NAME_TOKENS = {TokenType.VAR, TokenType.IDENTIFIER}
_STRING_TOKENS = {
    getattr(TokenType, name)
    for name in ("STRING", "NATIONAL_STRING", "RAW_STRING", "NATIONAL_RAW_STRING", "HEREDOC_STRING", "UNICODE_STRING")
    if hasattr(TokenType, name)
}
_TABLE_INTRO = {TokenType.FROM, TokenType.JOIN, TokenType.STRAIGHT_JOIN, TokenType.INTO, TokenType.UPDATE,
                TokenType.TABLE, TokenType.USING}
_FROM_LIST_END = {TokenType.WHERE, TokenType.GROUP_BY, TokenType.ORDER_BY, TokenType.HAVING, TokenType.LIMIT,
                  TokenType.UNION, TokenType.INTERSECT, TokenType.EXCEPT, TokenType.SELECT, TokenType.ON,
                  TokenType.SEMICOLON, TokenType.QUALIFY, TokenType.WINDOW, TokenType.SET, TokenType.VALUES,
                  TokenType.L_PAREN, TokenType.R_PAREN}


def mentioned_relations(identifiers: Mapping[str, Iterable[str]], sql: str, dialect: str) -> tuple[str, ...]:
    """unique_ids whose identifier (lower case, the key of ``identifiers``) ``sql`` mentions."""
    names = mentioned_names(sql, dialect)
    lowered = sql.lower()
    found: set[str] = set()
    for identifier, unique_ids in identifiers.items():
        if _WORD_RE.fullmatch(identifier):
            hit = identifier in names
        else:
            pattern = r"(?<![A-Za-z0-9_$])" + re.escape(identifier) + r"(?![A-Za-z0-9_$])"
            hit = identifier in names or re.search(pattern, lowered) is not None
        if hit:
            found |= set(unique_ids)
    return tuple(sorted(found))


def mentioned_names(sql: str, dialect: str) -> set[str]:
    """The names (lower case) that ``sql`` mentions, as the module docstring defines them."""
    text, form = split_form(sql)
    names = _words(form or "")
    for match in _LIQUID_RE.finditer(text):
        names |= _words(match.group("tag") or match.group("output") or "")
    sql_part = _LIQUID_RE.sub(lambda m: " " * len(m.group(0)), text)
    return names | _sql_names(sql_part, dialect or None, 0)


def with_definitions(sql: str, definitions: Mapping[str, str] | None) -> str:
    """The query and the text of the Mode definitions it uses: what an unparsed query may read."""
    return "\n".join((sql, *(definitions or {}).values()))


def unread_branch_texts(
    sql: str, definitions: Mapping[str, str] | None, reason: str | None
) -> tuple[tuple[str, ...], str | None]:
    """The texts of the Liquid branches a query's reason lists as unread, and that note.

    The branches are numbered over the query with its definitions expanded, as
    ``render_template`` numbered them; a number past the last branch (the query changed
    under the note) gives the whole expanded text, which mentions at least as much.
    """
    numbers = sorted(set(unread_branches(reason)))
    if not numbers:
        return (), None
    body, _ = split_form(sql)
    expanded, _, _ = expand_definitions(body, definitions)
    bodies = branch_bodies(expanded)
    note = (reason or "")[(reason or "").rfind(UNREAD_NOTE):]
    if numbers[-1] > len(bodies) or numbers[0] < 1:
        return (expanded,), note
    return tuple(bodies[n - 1] for n in numbers), note


def _name_parts(text: str) -> set[str]:
    """A name token, each dotted part, and each part without a BigQuery ``$`` partition decorator."""
    lowered = text.lower()
    parts = {lowered, *(p for p in lowered.split(".") if p)}
    return parts | {p.split("$", 1)[0] for p in parts if "$" in p[1:]}


def _words(text: str) -> set[str]:
    return set(_WORD_RE.findall(text.lower()))


def _sql_names(text: str, dialect: str | None, depth: int) -> set[str]:
    if not text.strip():
        return set()
    if len(text) > MAX_TOKENIZED_CHARS or depth > _MAX_DEPTH:
        return _words(text)
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(text)
    except Exception:  # noqa: BLE001 - a text the tokenizer refuses: every word counts
        return _words(text)
    names: set[str] = set()
    in_from = False
    previous: TokenType | None = None
    position = 0
    for index, token in enumerate(tokens):
        names |= _comment_names(text[position : token.start], dialect, depth)
        position = token.end + 1
        kind = token.token_type
        if kind in _NAME_TOKENS:
            names |= _name_parts(token.text)
        elif kind in _STRING_TOKENS:
            names |= _sql_names(token.text, dialect, depth + 1)
        elif kind != TokenType.NUMBER and _WORD_RE.fullmatch(token.text):  # a keyword
            if _where_a_table_can_stand(previous, in_from, tokens, index):
                names.add(token.text.lower())
        if kind in (TokenType.FROM, TokenType.JOIN):
            in_from = True
        elif kind in _FROM_LIST_END:
            in_from = False
        previous = kind
    names |= _comment_names(text[position:], dialect, depth)
    return names


def _comment_names(gap: str, dialect: str | None, depth: int) -> set[str]:
    """What the comments between two tokens mention (a gap holds only comments and blanks)."""
    return _sql_names(_COMMENT_MARK_RE.sub(" ", gap), dialect, depth + 1) if gap.strip() else set()


def _where_a_table_can_stand(previous: TokenType | None, in_from: bool, tokens: list[Token], index: int) -> bool:
    following = tokens[index + 1].token_type if index + 1 < len(tokens) else None
    if following == TokenType.DOT and tokens[index].token_type not in _TABLE_INTRO:  # not `FROM {{ s }}.t`
        return True
    return previous in _TABLE_INTRO or previous == TokenType.DOT or (previous == TokenType.COMMA and in_from)
