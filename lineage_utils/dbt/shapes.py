"""Shape checks for dbt artifacts: a value of the wrong JSON type names the file and the key.

The readers of ``artifacts`` take each value through one of these instead of trusting
``raw.get(...)``: ``nodes`` as a list, ``metadata`` as a string, ``tags`` as a string or
an ``execution_time`` of ``"fast"`` each give one :class:`ArtifactError` like
``target/manifest.json: nodes["model.p.a"]: key 'tags' must be a list of strings, got a string``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from lineage_utils.errors import ArtifactError

_JSON_KINDS = ((bool, "a boolean"), (str, "a string"), (int, "a number"), (float, "a number"),
               (list, "a list"), (Mapping, "an object"))


def json_kind(value: Any) -> str:
    """``value``'s JSON type in words ("a list", "null"), for messages."""
    if value is None:
        return "null"
    return next((words for kind, words in _JSON_KINDS if isinstance(value, kind)), type(value).__name__)


def shape_error(path: Path | str, where: str, key: str, expected: str, value: Any) -> ArtifactError:
    """``<file>: <where>: key '<key>' must be <expected>, got <kind>``."""
    place = f"{where}: " if where else ""
    return ArtifactError(f"{path}: {place}key '{key}' must be {expected}, got {json_kind(value)}")


def missing_key(path: Path | str, where: str, key: str) -> ArtifactError:
    place = f"{where}: " if where else ""
    return ArtifactError(f"{path}: {place}no key '{key}'")


def get_object(raw: Mapping[str, Any], key: str, path: Path | str, where: str = "") -> Mapping[str, Any]:
    """``raw[key]`` as an object (absent or null: empty)."""
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise shape_error(path, where, key, "an object", value)
    return value


def get_list(raw: Mapping[str, Any], key: str, path: Path | str, where: str = "") -> list[Any]:
    """``raw[key]`` as a list (absent or null: empty)."""
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise shape_error(path, where, key, "a list", value)
    return value


def get_strings(raw: Mapping[str, Any], key: str, path: Path | str, where: str = "") -> list[str]:
    """``raw[key]`` as a list of strings (absent or null: empty)."""
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise shape_error(path, where, key, "a list of strings", value)
    return value


def get_text(raw: Mapping[str, Any], key: str, path: Path | str, where: str = "") -> str | None:
    """``raw[key]`` as a string, or None when absent or null."""
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise shape_error(path, where, key, "a string", value)
    return value


def require_text(raw: Mapping[str, Any], key: str, path: Path | str, where: str = "") -> str:
    """``raw[key]``, which must be a non-empty string."""
    value = get_text(raw, key, path, where)
    if not value:
        raise missing_key(path, where, key)
    return value


def get_number(raw: Mapping[str, Any], key: str, path: Path | str, where: str = "") -> float | None:
    """``raw[key]`` as a float, or None when absent or null (a boolean is not a number)."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise shape_error(path, where, key, "a number", value)
    return float(value)


def entry(section: str, key: str) -> str:
    """How a message names one entry of a section: ``nodes["model.p.a"]``."""
    return f'{section}["{key}"]'
