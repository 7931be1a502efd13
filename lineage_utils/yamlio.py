"""YAML and small text files read defensively: no dates, no bombs, no binary, messages that name the file.

Params files, ``--set`` values and golden files go through :func:`load_yaml`. It refuses
documents that nest too deep or expand through aliases ("billion laughs") beyond what
any configuration needs, before constructing them; values echoed in messages are cut
to about 80 characters (:func:`shown`).
"""

from __future__ import annotations

import reprlib
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, SequenceNode

from lineage_utils.errors import ParamsError, first_line

#: Limits that keep a hostile or mistaken params file from exhausting the machine.
MAX_FILE_BYTES = 1 << 20  # a params file is a few KiB; 1 MiB is certainly not one
MAX_YAML_NODES = 100_000  # nodes after expanding aliases (a "billion laughs" expands to 10**9)
MAX_YAML_DEPTH = 50  # nesting of collections
_SHOWN = 80  # characters of a value echoed in a message

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _SHOWN
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6
_REPR.maxlevel = 3


def shown(value: Any) -> str:
    """``repr(value)`` cut to about 80 characters: how messages echo a value (never the whole)."""
    text = _REPR.repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def shorten(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


class _NoDatesConstructor(SafeConstructor):
    """Safe YAML without implicit timestamp conversion (dates stay strings)."""


_NoDatesConstructor.add_constructor(
    "tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str
)


class YamlTooLarge(YAMLError):
    """The document expands (through aliases) to more nodes than a params file can need."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _expanded_size(root: Any) -> int:
    """Nodes of the document with every alias expanded, stopping past MAX_YAML_NODES."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Any) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise YamlTooLarge("a recursive alias (an anchor used inside itself)")
        active.add(key)
        if isinstance(node, MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, SequenceNode):
            children = node.value
        else:
            children = []
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_YAML_NODES:
                raise YamlTooLarge(f"the document expands to more than {MAX_YAML_NODES:,} values "
                                   "through its aliases (a YAML bomb?)")
        active.discard(key)
        sizes[key] = total
        return total

    return size(root)


class _BoundedComposer(Composer):
    """Refuses a document that its aliases expand beyond MAX_YAML_NODES, before constructing it."""

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None:
            _expanded_size(node)
        return node


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _NoDatesConstructor
    yaml.Composer = _BoundedComposer
    yaml.max_depth = MAX_YAML_DEPTH
    return yaml


def load_yaml(text: str, origin: str) -> Any:
    """Parse YAML text without date conversion; errors name the origin and position.

    Documents that nest deeper than MAX_YAML_DEPTH or expand through aliases to more than
    MAX_YAML_NODES values are refused (ParamsError), quickly and without building them.
    """
    try:
        return _yaml().load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}: line {mark.line + 1}, column {mark.column + 1}" if mark else origin
        problem = getattr(exc, "problem", None) or first_line(str(exc))
        raise ParamsError(f"{where}: invalid YAML: {first_line(str(problem))}") from None
    except RecursionError:
        raise ParamsError(f"{origin}: invalid YAML: nested too deeply") from None
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError) as exc:
        # ruamel's constructors fail this way on explicit tags with bad values (`!!float x`).
        raise ParamsError(f"{origin}: invalid YAML: a value cannot be read ({type(exc).__name__}: "
                          f"{first_line(exc, 120)})") from None


def read_text_file(path: Path, what: str = "file") -> str:
    """A small YAML/text file as text; too large, binary, non-UTF-8 or unreadable files name the path."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ParamsError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ParamsError(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB: not a {what}")
    if b"\0" in data:
        raise ParamsError(f"{path}: a binary file (NUL bytes), not a YAML {what}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParamsError(f"{path}: not UTF-8 text (byte {exc.start}): a {what} is YAML text") from None
