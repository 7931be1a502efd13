"""Scripts sqlglot does not parse whole, split into the statements it does.

``parse_script`` is the fallback of ``reads.parse`` for a query that fails to parse, holds
a statement sqlglot only keeps as a ``Command``, or creates a procedure. It tokenizes the
text once with the dialect's tokenizer (tokens keep their offsets into the query, so a
read's ``raw`` text stays right) and walks the tokens:

* statements end at a semicolon at paren depth 0; in T-SQL also where the next statement
  starts (``SELECT * FROM a SELECT * FROM b``): a statement keyword at depth 0, outside
  CASE ... END, that does not continue the current statement (see ``_starts_statement``);
* block words are dropped: ``BEGIN`` / ``END [IF|LOOP|FOR|...]`` / ``ELSE`` / ``EXCEPTION``,
  and a procedure's header up to its body (``CREATE PROCEDURE p ... AS`` or ``BEGIN``);
* a body in a string (Snowflake ``AS $$ ... $$``, ``EXECUTE IMMEDIATE $$ ... $$``,
  Postgres ``DO $$ ... $$``) is split in turn;
* control statements (``DECLARE``, ``SET``, ``LET``, ``IF ... THEN``, ``FOR ... DO``,
  ``RETURN``, ``EXEC proc``, ``x := ...``) are not parsed: the queries inside them are
  (``DECLARE d DEFAULT (SELECT MAX(day) FROM t)``, ``DECLARE c CURSOR FOR SELECT ...``).

Every other statement goes to sqlglot's parser; a failure there propagates, so a script
with a statement nobody understands stays unparsed.
"""

from __future__ import annotations

import functools

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import Token, TokenType

_STRINGS = {TokenType.STRING, TokenType.RAW_STRING, TokenType.HEREDOC_STRING, TokenType.NATIONAL_STRING}
_NOT_WORDS = {*_STRINGS, TokenType.IDENTIFIER, TokenType.NUMBER}
_CONTROL = {
    "DECLARE", "SET", "LET", "RETURN", "CALL", "RAISE", "PRINT", "EXEC", "EXECUTE", "OPEN", "FETCH", "CLOSE",
    "DEALLOCATE", "BREAK", "CONTINUE", "LEAVE", "ITERATE", "THROW", "RAISERROR", "IF", "ELSEIF", "WHILE",
    "FOR", "WHEN", "UNTIL", "WAITFOR",
}
_CONDITION_ENDS = {"IF": "THEN", "ELSEIF": "THEN", "WHEN": "THEN", "WHILE": "DO", "FOR": "DO"}
_BLOCK_ENDS = {"IF", "LOOP", "WHILE", "FOR", "REPEAT", "TRY", "CATCH", "CASE"}
_TRANSACTION = {"TRAN", "TRANSACTION", "WORK", "DISTRIBUTED"}
_TSQL_STARTERS = {
    "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "WITH", "CREATE", "ALTER", "DROP", "TRUNCATE", "DECLARE",
    "SET", "EXEC", "EXECUTE", "IF", "ELSE", "WHILE", "BEGIN", "END", "PRINT", "RETURN", "USE", "RAISERROR",
    "THROW", "OPEN", "FETCH", "CLOSE", "DEALLOCATE", "BREAK", "CONTINUE", "COMMIT", "ROLLBACK", "WAITFOR",
}
_STATEMENTS = {"SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER", "TRUNCATE",
               "USE", "COPY", "BEGIN"}
"""Words that start SQL in a DECLARE section (BigQuery declares inside blocks, Snowflake before)."""
_NOT_A_CTE = {"TIES", "ROLLUP", "CUBE", "CHECK", "NOCHECK", "SCHEMABINDING", "ENCRYPTION", "RECOMPILE", "EXECUTE"}
_DDL_OBJECTS = {"TABLE", "VIEW", "PROCEDURE", "PROC", "FUNCTION", "INDEX", "SCHEMA", "DATABASE", "SEQUENCE",
                "TRIGGER", "TYPE"}
_NON_SQL_LANGUAGES = {"JAVASCRIPT", "PYTHON", "JAVA", "SCALA", "PLV8", "PLPYTHON3U"}


def parse_script(text: str, dialect: str | None) -> tuple[exp.Expr, ...]:
    """The statements of ``text``, block structure and control statements taken apart."""
    dia = Dialect.get_or_raise(dialect)
    statements: list[exp.Expr] = []
    for control, chunk in _Splitter(text, dia, dialect in ("tsql", "fabric")).split(_tokenize(text, 0, len(text), dia)):
        for tokens in _queries(chunk) if control else [chunk]:
            parsed = dia.parser().parse(tokens, text)
            statements.extend(s for s in parsed if s is not None and type(s).__name__ != "EndStatement")
    return tuple(statements)


def needs_script(statements: tuple[exp.Expr, ...]) -> bool:
    """Whether sqlglot's whole-text parse hides statements: a Command, or a procedure's body."""
    return any(
        isinstance(s, exp.Command) or (isinstance(s, exp.Create) and str(s.args.get("kind") or "").upper() == "PROCEDURE")
        for s in statements
    )


def _tokenize(text: str, start: int, end: int, dia: Dialect) -> list[Token]:
    """Tokens of ``text[start:end]``, offsets into ``text``.

    The dialect's tokenizer with no "command" keywords: sqlglot's tokenizer swallows the rest
    of a statement after one (BEGIN, EXECUTE, END ...) as one string, hiding what is inside.
    """
    tokenizer = _plain_tokenizer(type(dia))(dialect=dia)
    return [
        Token(t.token_type, t.text, t.line, t.col, t.start + start, t.end + start, t.comments)
        for t in tokenizer.tokenize(text[start:end])
    ]


@functools.lru_cache(maxsize=64)
def _plain_tokenizer(dialect_class: type) -> type:
    base = dialect_class.tokenizer_class
    return type(f"{base.__name__}WithoutCommands", (base,), {"COMMANDS": set()})


def _word(token: Token | None) -> str:
    if token is None or token.token_type in _NOT_WORDS:
        return ""
    return token.text.upper()


class _Splitter:
    """One walk over a script's tokens: ``split`` yields (is_control, tokens) per statement."""

    def __init__(self, text: str, dia: Dialect, tsql: bool) -> None:
        self.text, self.dia, self.tsql = text, dia, tsql
        self.out: list[tuple[bool, list[Token]]] = []

    def split(self, tokens: list[Token]) -> list[tuple[bool, list[Token]]]:
        current: list[Token] = []
        depth = case_depth = 0
        seen0: set[str] = set()  # words met at depth 0 in the current statement
        declaring = False  # inside a Snowflake DECLARE section: every statement is a declaration
        i, n = 0, len(tokens)
        while i < n:
            token, word = tokens[i], _word(tokens[i])
            following = _word(tokens[i + 1]) if i + 1 < n else ""
            if depth == 0 and token.token_type == TokenType.SEMICOLON:
                self._flush(current, declaring)
                current, seen0 = [], set()
                i += 1
                continue
            if depth == 0 and case_depth == 0 and current and self.tsql and self._starts_statement(tokens, i, current, seen0):
                self._flush(current, declaring)
                current, seen0 = [], set()
            if depth == 0 and case_depth == 0 and not current:
                skip = self._block_word(tokens, i, word, following)
                if skip:
                    declaring = declaring and word != "BEGIN"
                    i += skip
                    continue
                if word == "DECLARE" and not self.tsql:
                    declaring = True
                if word in _CONDITION_ENDS and not self.tsql:  # IF cond THEN / FOR x IN (...) DO: cond is control
                    end = _find0(tokens, i, _CONDITION_ENDS[word])
                    if end is not None:
                        self.out.append((True, tokens[i:end]))
                        i = end + 1
                        continue
            if token.token_type == TokenType.L_PAREN:
                depth += 1
            elif token.token_type == TokenType.R_PAREN:
                depth = max(depth - 1, 0)
            elif word == "CASE":
                case_depth += 1
            elif word == "END" and case_depth:
                case_depth -= 1
            if depth == 0 and word:
                seen0.add(word)
            current.append(token)
            i += 1
        self._flush(current, declaring)
        return self.out

    def _block_word(self, tokens: list[Token], i: int, word: str, following: str) -> int:
        """How many tokens of block structure start at ``i`` (0: none), bodies in strings split."""
        if word == "BEGIN" and following not in _TRANSACTION:
            return 2 if following in ("TRY", "CATCH", "ATOMIC") else 1
        if word == "END":
            count = 2 if following in _BLOCK_ENDS else 1
            label = tokens[i + count] if i + count < len(tokens) else None
            if not self.tsql and label is not None and label.token_type == TokenType.VAR:
                nxt = tokens[i + count + 1] if i + count + 1 < len(tokens) else None
                count += nxt is None or nxt.token_type == TokenType.SEMICOLON  # END my_label;
            return count
        if word in ("ELSE", "EXCEPTION", "LOOP", "REPEAT", "THEN", "DO") and not (word == "DO" and self._string_at(tokens, i + 1)):
            return 1
        if word in ("EXECUTE", "EXEC", "DO") and (following == "IMMEDIATE" or word == "DO"):
            at = i + (2 if following == "IMMEDIATE" else 1)
            if self._string_at(tokens, at):
                self._split_body(tokens[at])
                return at + 1 - i
        if word in ("CREATE", "ALTER") and any(_word(t) in ("PROCEDURE", "PROC") for t in tokens[i : i + 6]):
            return self._procedure_header(tokens, i)
        return 0

    def _procedure_header(self, tokens: list[Token], i: int) -> int:
        """Tokens from CREATE PROCEDURE to its body; a body in a string is split here."""
        depth, language, j = 0, "", i
        while j < len(tokens):
            token, word = tokens[j], _word(tokens[j])
            depth += token.token_type == TokenType.L_PAREN
            depth -= token.token_type == TokenType.R_PAREN
            if depth == 0 and word == "LANGUAGE":
                language = _word(tokens[j + 1]) if j + 1 < len(tokens) else ""
            if depth == 0 and word == "BEGIN":
                return j - i  # the BEGIN opens the body's block
            if depth == 0 and word == "AS" and _word(tokens[j - 1]) != "EXECUTE":
                if self._string_at(tokens, j + 1):
                    if language not in _NON_SQL_LANGUAGES:
                        self._split_body(tokens[j + 1])
                    return j + 2 - i
                return j + 1 - i
            j += 1
        return j - i

    def _string_at(self, tokens: list[Token], at: int) -> bool:
        return at < len(tokens) and tokens[at].token_type in _STRINGS

    def _split_body(self, token: Token) -> None:
        raw = self.text[token.start : token.end + 1]
        offset = raw.find(token.text) if token.text else -1
        if offset < 0:
            return
        start = token.start + offset
        inner = _Splitter(self.text, self.dia, self.tsql)
        self.out.extend(inner.split(_tokenize(self.text, start, start + len(token.text), self.dia)))

    def _flush(self, tokens: list[Token], declaring: bool) -> None:
        if not tokens:
            return
        first = _word(tokens[0])
        assignment = len(tokens) > 1 and tokens[1].token_type in (TokenType.COLON_EQ,)
        control = first in _CONTROL or assignment or (declaring and first not in _STATEMENTS)
        if not control:  # Databricks DEEP CLONE: sqlglot knows CLONE only
            tokens = [t for k, t in enumerate(tokens)
                      if not (_word(t) == "DEEP" and k + 1 < len(tokens) and _word(tokens[k + 1]) == "CLONE")]
        self.out.append((control, tokens))

    def _starts_statement(self, tokens: list[Token], i: int, current: list[Token], seen0: set[str]) -> bool:
        """T-SQL without semicolons: does the keyword at ``i`` start a new statement?"""
        word = _word(tokens[i])
        if word not in _TSQL_STARTERS:
            return False
        first, prev = _word(current[0]), _word(current[-1]) or current[-1].text
        following = _word(tokens[i + 1]) if i + 1 < len(tokens) else ""
        if first == "MERGE" or (prev in ("ON", "FOR") and word in ("DELETE", "UPDATE")):
            return False  # MERGE ends at its semicolon; ON DELETE CASCADE, FOR UPDATE
        if first == "ALTER" and word in ("DROP", "SET", "WITH"):
            return False
        if word == "SELECT":
            if prev in ("UNION", "ALL", "EXCEPT", "INTERSECT", "DISTINCT", "("):
                return False
            return not (first in ("INSERT", "WITH", "CREATE", "ALTER", "DECLARE") and "SELECT" not in seen0)
        if word in ("EXEC", "EXECUTE") and first == "INSERT":
            return "SELECT" in seen0 or "VALUES" in seen0
        if word == "WITH":
            after = tokens[i + 2] if i + 2 < len(tokens) else None
            if following in _NOT_A_CTE or tokens[i + 1].token_type == TokenType.L_PAREN or after is None:
                return False
            return _word(after) == "AS" or after.token_type == TokenType.L_PAREN
        if word == "SET":
            return not ((first == "UPDATE" and "SET" not in seen0) or prev in ("DELETE", "UPDATE"))
        if word == "IF":
            return prev not in _DDL_OBJECTS
        return True


def _find0(tokens: list[Token], i: int, word: str) -> int | None:
    """Index of ``word`` at paren depth 0 after ``i``, before the next semicolon."""
    depth = 0
    for j in range(i + 1, len(tokens)):
        kind = tokens[j].token_type
        depth += kind == TokenType.L_PAREN
        depth -= kind == TokenType.R_PAREN
        if depth == 0 and kind == TokenType.SEMICOLON:
            return None
        if depth == 0 and _word(tokens[j]) == word:
            return j
    return None


def _queries(tokens: list[Token]) -> list[list[Token]]:
    """The queries inside a control statement: ``(SELECT ...)`` groups and a trailing
    ``SELECT ...`` at depth 0 (``DECLARE c CURSOR FOR SELECT ...``)."""
    found: list[list[Token]] = []
    depth, j = 0, 0
    while j < len(tokens):
        kind, word = tokens[j].token_type, _word(tokens[j])
        opens = j > 0 and tokens[j - 1].token_type == TokenType.L_PAREN
        if word in ("SELECT", "WITH") and (opens or depth == 0):
            if not opens:
                found.append(tokens[j:])
                break
            end, level = j, 1
            while end < len(tokens) and level:
                level += tokens[end].token_type == TokenType.L_PAREN
                level -= tokens[end].token_type == TokenType.R_PAREN
                end += 1
            found.append(tokens[j : end - 1] if level == 0 else tokens[j:end])
            j, depth = end, depth - (level == 0)
            continue
        depth += kind == TokenType.L_PAREN
        depth -= kind == TokenType.R_PAREN
        j += 1
    return found
