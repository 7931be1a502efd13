"""Edit a dbt properties YAML file with ruamel.yaml round-trip: drop model, test and semantic-layer entries.

Only what is removed changes: comments, quoting, order and layout of the rest survive
(the file's own indentation is found by trying the usual ones until a round trip
reproduces the file). A removed entry takes its own comments along; the comment lines
and blank lines that came after it, which belong to what follows, stay. A container
left empty by a removal goes too (``data_tests:`` with no test, ``models:`` with no
model, ``metrics:`` with no metric); a file left with nothing but ``version:`` is
deleted (``after`` is None). Semantic-layer entries are named by their section
(``semantic_models``, ``metrics``, ``saved_queries``) and ``name:``.

``drop_exposure_refs`` edits the generated exposures file the same way: the ``ref`` of
each deleted model leaves every ``depends_on``, an exposure left with none goes, and a
file left with no exposure is deleted.

Pure: text in, text out. Which entries to remove is the caller's (``actions.patch``).
"""

from __future__ import annotations

import difflib
import io
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.tokens import CommentToken

from lineage_utils.dbt.tests_of import DbtTest

_INDENTS = ((2, 4, 2), (2, 2, 0), (4, 6, 4), (4, 4, 0), (4, 4, 2), (2, 4, 0), (3, 5, 3))
"""(mapping, sequence, offset) of ruamel's emitter, most common dbt layouts first."""
_TEST_KEYS = ("data_tests", "tests")
_CONFIG_KEYS = frozenset({"config", "name", "description", "test_name", "arguments", "severity", "where", "tags",
                          "meta", "enabled", "error_if", "warn_if", "limit", "store_failures", "store_failures_as"})
"""Keys of a generic test entry that are not its arguments."""


@dataclass(frozen=True)
class YamlEdit:
    """The edited text (None: the file is left empty and goes), and what was asked but not found."""

    after: str | None
    removed: tuple[str, ...]
    not_found: tuple[str, ...]


def _yaml(indent: tuple[int, int, int]) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long description
    mapping, sequence, offset = indent
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _dump(yaml: YAML, document: Any) -> str:
    sink = io.StringIO()
    yaml.dump(document, sink)
    return sink.getvalue()


def _layout(text: str) -> tuple[int, int, int]:
    """The indentation under which a round trip reproduces ``text`` (else the closest)."""
    best, best_score = _INDENTS[0], None
    lines = text.splitlines()
    for indent in _INDENTS:
        yaml = _yaml(indent)
        dumped = _dump(yaml, yaml.load(text))
        if dumped == text:
            return indent
        score = sum(1 for op in difflib.ndiff(lines, dumped.splitlines()) if op[:1] in "+-")
        if best_score is None or score < best_score:
            best, best_score = indent, score
    return best


# -- comments: a removed entry's trailing comment belongs to what follows it ------------------
def _block(value: Any) -> bool:
    return isinstance(value, (CommentedMap, CommentedSeq)) and len(value) > 0 and not value.fa.flow_style()


def _tail(container: Any, key: Any) -> tuple[Any, Any, int]:
    """(container, key, slot) of the comment that ends ``container[key]`` (after its last block scalar)."""
    value = container[key]
    if _block(value):
        return _tail(value, list(value.keys())[-1] if isinstance(value, CommentedMap) else len(value) - 1)
    return container, key, 2 if isinstance(container, CommentedMap) else 0


def _comment(place: tuple[Any, Any, int]) -> Any:
    container, key, slot = place
    entry = container.ca.items.get(key)
    return entry[slot] if entry and len(entry) > slot else None


def _splice_comments(container: Any, before: Any, removed: Any) -> None:
    """Give ``container[before]`` (the sibling above a removed entry) the removed entry's trailing lines.

    ``before`` keeps its own end-of-line comment; the own-line comments under it, which
    described the removed entry, go; the removed entry's trailing blank and comment
    lines, which belong to the next entry, move up to ``before``.
    """
    place = _tail(container, before)
    token, gone = _comment(place), _comment(_tail(container, removed))
    following = gone.value.split("\n", 1)[1] if gone is not None and "\n" in gone.value else ""
    if token is None:
        if following:
            where, key, slot = place
            entry = where.ca.items.setdefault(key, [None] * (4 if isinstance(where, CommentedMap) else 2))
            entry[slot] = CommentToken("\n" + following, CommentMark(0), None)
        return
    if "\n" in token.value:
        token.value = token.value.split("\n", 1)[0] + "\n" + following


def _lift_comments(seq: CommentedSeq) -> None:
    """Removing the first item of ``seq``: its trailing comment lines go above the new first item."""
    gone = _comment(_tail(seq, 0))
    following = gone.value.split("\n", 1)[1] if gone is not None and "\n" in gone.value else ""
    lines = following.splitlines(keepends=True)
    if len(seq) < 2 or "#" not in following:
        return
    column = len(lines[0]) - len(lines[0].lstrip(" "))
    token = CommentToken(lines[0].lstrip(" ") + "".join(lines[1:]), CommentMark(column), None)
    if seq.ca.comment and len(seq.ca.comment) > 1 and seq.ca.comment[1]:
        seq.ca.comment[1].append(token)  # the list the parent key shares: keep it one object
    else:
        seq.ca.comment = [None, [token]]


def _remove(container: Any, key: Any) -> None:
    keys = list(container.keys()) if isinstance(container, CommentedMap) else list(range(len(container)))
    position = keys.index(key)
    if position > 0:
        _splice_comments(container, keys[position - 1], key)
    elif isinstance(container, CommentedSeq):
        _lift_comments(container)
    del container[key]


# -- finding entries ----------------------------------------------------------------------
def _named(items: Any, name: str | None) -> Any:
    """The mapping named ``name`` in a YAML list (dbt names entries with ``name:``)."""
    if not isinstance(items, CommentedSeq) or name is None:
        return None
    exact = [i for i in items if isinstance(i, CommentedMap) and str(i.get("name")) == name]
    if exact:
        return exact[0]
    folded = [i for i in items if isinstance(i, CommentedMap) and str(i.get("name")).lower() == name.lower()]
    return folded[0] if len(folded) == 1 else None


def _normal(value: Any) -> str:
    """A test argument as comparable text: manifest kwargs and YAML values meet here."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    if isinstance(value, str):
        return " ".join(value.replace('"', "'").split())
    if isinstance(value, dict):
        return json.dumps({str(k): _normal(v) for k, v in value.items()}, sort_keys=True)
    if isinstance(value, list):
        return json.dumps([_normal(v) for v in value])
    return json.dumps(value, default=str)


def _entry_matches(item: Any, test: DbtTest) -> bool:
    """True when the YAML test entry ``item`` declares ``test`` (name, custom name, arguments)."""
    full = f"{test.namespace}.{test.name}" if test.namespace else test.name
    if isinstance(item, str):
        return item in (test.name, full) and not test.arguments
    if not isinstance(item, CommentedMap):
        return False
    if "test_name" in item:  # the long form: - name: x, test_name: relationships, ...
        body, declared = item, str(item["test_name"])
    elif len(item) == 1:
        declared, body = next(iter(item.items()))
    else:
        return False
    if str(declared) not in (test.name, full):
        return False
    body = body if isinstance(body, CommentedMap) else {}
    custom = body.get("name") or (body.get("config") or {}).get("name")
    if custom and test.unique_id.split(".")[2:3] != [str(custom)]:
        return False
    arguments = {k: v for k, v in body.items() if k not in _CONFIG_KEYS}
    arguments.update(body.get("arguments") or {})
    return all(_normal(test.arguments[k]) == _normal(v) for k, v in arguments.items() if k in test.arguments)


def _test_lists(document: Any, test: DbtTest) -> list[tuple[Any, str]]:
    """(holder, key) of the ``data_tests``/``tests`` lists that may hold ``test``: its column's, then its entry's."""
    entry = _named(document.get(test.yaml_key), test.entry) if isinstance(document, CommentedMap) else None
    if test.yaml_key == "sources":
        entry = _named(entry.get("tables"), test.table) if isinstance(entry, CommentedMap) else None
    if not isinstance(entry, CommentedMap):
        return []
    holders = [_named(entry.get("columns"), test.column)] if test.column else []
    holders.append(entry)
    return [(h, key) for h in holders if isinstance(h, CommentedMap) for key in _TEST_KEYS
            if isinstance(h.get(key), CommentedSeq)]


def _drop_test(document: Any, test: DbtTest) -> bool:
    """Remove the one entry declaring ``test``; a test list left empty goes with it."""
    for holder, key in _test_lists(document, test):
        found = [i for i, item in enumerate(holder[key]) if _entry_matches(item, test)]
        if len(found) == 1:
            _remove(holder[key], found[0])
            if not holder[key]:
                _remove(holder, key)
            return True
    return False


def _drop_entry(document: Any, section: str, name: str) -> bool:
    """Remove the entry named ``name`` from the top-level list ``section``; a list left empty goes with it."""
    entries = document.get(section) if isinstance(document, CommentedMap) else None
    entry = _named(entries, name)
    if entry is None:
        return False
    _remove(entries, next(i for i, item in enumerate(entries) if item is entry))
    if not entries:
        _remove(document, section)
    return True


def edit_properties(text: str, models: Iterable[str], tests: Iterable[DbtTest],
                    semantic: Iterable[tuple[str, str]] = ()) -> YamlEdit:
    """``text`` without the ``models:`` entries named ``models``, the entries of ``tests`` and ``semantic``.

    ``semantic`` holds (section, name) pairs: ``("metrics", "revenue")`` removes the
    metric ``revenue`` from ``metrics:``. A YAML file that does not parse is left as it
    is, every removal reported as not found.
    """
    models, tests = sorted(set(models)), sorted(tests, key=lambda t: t.unique_id)
    semantic = sorted(set(semantic))
    asked = [f"model {m}" for m in models] + [t.unique_id for t in tests] + [f"{s} {n}" for s, n in semantic]
    try:
        indent = _layout(text)
        yaml = _yaml(indent)
        document = yaml.load(text)
    except YAMLError:
        return YamlEdit(after=text, removed=(), not_found=tuple(asked))
    removed, not_found = [], []
    for test in tests:
        (removed if _drop_test(document, test) else not_found).append(test.unique_id)
    for section, name in [("models", m) for m in models] + semantic:
        what = f"model {name}" if section == "models" else f"{section} {name}"
        (removed if _drop_entry(document, section, name) else not_found).append(what)
    if removed and isinstance(document, CommentedMap) and not set(document.keys()) - {"version"}:
        return YamlEdit(after=None, removed=tuple(removed), not_found=tuple(not_found))
    after = _dump(yaml, document) if removed else text
    return YamlEdit(after=after, removed=tuple(removed), not_found=tuple(not_found))


# -- the generated exposures file: refs to deleted models ----------------------------------
_REF = re.compile(r"""\s*ref\(\s*(['"])([^'"]+)\1\s*(?:,\s*(['"])([^'"]+)\3\s*)?"""
                  r"""(?:,\s*(?:v|version)\s*=\s*(['"]?)([^'"\s,)]+)\5\s*)?\)\s*""")
"""``ref('name')``, ``ref("pkg", "name")``, ``ref('name', v=2)`` as dbt writes them in ``depends_on``."""


@dataclass(frozen=True)
class RefsEdit:
    """The edited exposures file (None: no exposure is left and it goes), what was dropped and removed."""

    after: str | None
    dropped: Mapping[str, tuple[str, ...]]
    """Exposure name -> the ids of the deleted models whose ``ref`` left its ``depends_on``."""
    removed: tuple[str, ...]
    """Exposures removed: their ``depends_on`` was left empty."""
    problem: str | None = None


def _model_key(unique_id: str, name: str) -> tuple[str, str, str | None]:
    """(package, name, version) of a model id: ``model.p.orders.v2`` -> ``("p", "orders", "2")``."""
    package = unique_id.split(".")[1] if unique_id.count(".") >= 2 else ""
    rest = unique_id[len(f"model.{package}.{name}"):]
    return package, name, rest[2:] if rest.startswith(".v") else None


def _ref_target(value: Any, models: Mapping[tuple[str, str, str | None], str]) -> str | None:
    """The deleted model a ``depends_on`` item names, or None (an unversioned ref names no versioned model)."""
    found = _REF.fullmatch(str(value)) if isinstance(value, str) else None
    if found is None:
        return None
    package, name = (found.group(2), found.group(4)) if found.group(4) else (None, found.group(2))
    version = found.group(6)
    return next((uid for (p, n, v), uid in models.items()
                 if n == name and package in (None, p) and v == version), None)


def drop_exposure_refs(text: str, models: Mapping[str, str]) -> RefsEdit:
    """``text`` (an ``exposures:`` file) without the ``ref`` of each deleted model (``models``: id -> name).

    An exposure whose ``depends_on`` is left empty goes; with no exposure left the file
    goes (``after`` None) unless it holds other top-level keys. A file that does not
    parse is left as it is, with a problem.
    """
    keys = {_model_key(uid, name): uid for uid, name in sorted(models.items())}
    try:
        yaml = _yaml(_layout(text))
        document = yaml.load(text)
    except YAMLError as exc:
        return RefsEdit(after=text, dropped={}, removed=(), problem=f"not read as YAML ({exc.__class__.__name__})")
    entries = document.get("exposures") if isinstance(document, CommentedMap) else None
    if not isinstance(entries, CommentedSeq):
        return RefsEdit(after=text, dropped={}, removed=())
    dropped: dict[str, tuple[str, ...]] = {}
    removed = []
    for exposure in [e for e in entries if isinstance(e, CommentedMap)]:
        refs = exposure.get("depends_on")
        if not isinstance(refs, CommentedSeq):
            continue
        hits = [(i, target) for i, item in enumerate(refs) if (target := _ref_target(item, keys))]
        if not hits:
            continue
        dropped[str(exposure.get("name"))] = tuple(sorted({t for _, t in hits}))
        if len(hits) == len(refs):
            removed.append(str(exposure.get("name")))
            _remove(entries, next(i for i, e in enumerate(entries) if e is exposure))
            continue
        for index, _ in reversed(hits):
            _remove(refs, index)
    if not dropped:
        return RefsEdit(after=text, dropped={}, removed=())
    if not entries:
        _remove(document, "exposures")
        if not set(document.keys()) - {"version"}:
            return RefsEdit(after=None, dropped=dict(sorted(dropped.items())), removed=tuple(sorted(removed)))
    return RefsEdit(after=_dump(yaml, document), dropped=dict(sorted(dropped.items())), removed=tuple(sorted(removed)))
