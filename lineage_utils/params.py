"""Run parameters: one declared schema drives loading, validation, `--set` and the docs.

A params file is nested YAML (``dbt: {target_dir: ...}``); inside the package every
key is addressed by its dotted name (``dbt.target_dir``). Paths are resolved against
the params file's folder, so a params file works from any working directory.
Secrets are never parameters: params hold the *names* of environment variables.
"""

from __future__ import annotations

import difflib
import io
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence
from urllib.parse import urlsplit

from ruamel.yaml import YAML

from lineage_utils.atomic import write_text_atomic
from lineage_utils.errors import ParamsError
from lineage_utils.params_schema import SCHEMA, ParamSpec
from lineage_utils.yamlio import load_yaml, read_text_file, shorten as _short, shown

__all__ = ["SCHEMA", "SPECS", "ParamSpec", "Params", "build_params", "load_params", "load_yaml",
           "params_table_markdown", "parse_datetime", "shown"]

SPECS: dict[str, ParamSpec] = {spec.key: spec for spec in SCHEMA}
_SECTIONS = sorted({key.split(".", 1)[0] for key in SPECS})


def _suggest(key: str) -> str:
    key = key[:100]
    close = difflib.get_close_matches(key, list(SPECS), n=1, cutoff=0.5)
    if not close:
        leaf = key.rsplit(".", 1)[-1]
        close = [k for k in SPECS if k.rsplit(".", 1)[-1] == leaf][:1]
    return f" (did you mean '{close[0]}'?)" if close else f" (valid sections: {', '.join(_SECTIONS)})"


def _flatten(data: Mapping[str, Any], origin: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section, body in data.items():
        section = str(section)
        if section not in _SECTIONS:
            raise ParamsError(f"{origin}: unknown params key '{_short(section)}'{_suggest(section)}")
        if not isinstance(body, Mapping):
            raise ParamsError(f"{origin}: '{section}' must be a mapping of keys, got {type(body).__name__}")
        for name, value in body.items():
            key = f"{section}.{name}"
            if key not in SPECS:
                raise ParamsError(f"{origin}: unknown params key '{_short(key)}'{_suggest(key)}")
            flat[key] = value
    return flat


def _to_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in {"true", "yes", "on", "1"}:
        return True
    if text in {"false", "no", "off", "0"}:
        return False
    raise ParamsError(f"params key '{key}': expected true or false, got {shown(value)}")


def _to_number(kind: str, value: Any, key: str) -> Any:
    wanted = "a whole number" if kind == "int" else "a number"
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ParamsError(f"params key '{key}': expected {wanted}, got {shown(value)}")
    try:
        if kind == "float":
            number: Any = float(value)
        elif isinstance(value, float):
            if not value.is_integer():
                raise ValueError(value)
            number = int(value)
        else:
            number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ParamsError(f"params key '{key}': expected {wanted}, got {shown(value)}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ParamsError(f"params key '{key}': expected a finite number, got {shown(value)}")
    return number


def _in_range(spec: ParamSpec, number: Any) -> Any:
    if spec.minimum is not None and number < spec.minimum:
        raise ParamsError(f"params key '{spec.key}': {shown(number)} is below the minimum {spec.minimum:g}")
    if spec.maximum is not None and number > spec.maximum:
        raise ParamsError(f"params key '{spec.key}': {shown(number)} is above the maximum {spec.maximum:g}")
    return number


def parse_datetime(value: str) -> datetime:
    """ISO 8601 (with `Z` or an offset; naive means UTC) to an aware UTC datetime."""
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _coerce(spec: ParamSpec, value: Any, base_dir: Path) -> Any:
    key = spec.key
    if spec.kind == "bool":
        return _to_bool(value, key)
    if spec.kind in ("int", "float"):
        return _in_range(spec, _to_number(spec.kind, value, key))
    if spec.kind == "list":
        if value is None:
            return []
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            raise ParamsError(f"params key '{key}': expected a list of names, got {shown(value)}")
        return [str(v) for v in value]
    if spec.kind == "mapping":
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ParamsError(f"params key '{key}': expected a mapping, got {shown(value)}")
        return {str(k): v for k, v in value.items()}
    if value is None:
        value = ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ParamsError(f"params key '{key}': expected text, got {shown(value)}")
    text = str(value)
    if spec.kind == "choice" and text not in spec.choices:
        raise ParamsError(f"params key '{key}': {shown(text)} is not one of {', '.join(spec.choices)}")
    if spec.kind == "datetime" and text:
        try:
            parse_datetime(text)
        except (ValueError, OverflowError):
            raise ParamsError(f"params key '{key}': {shown(text)} is not an ISO 8601 date-time") from None
    if spec.kind == "path" and text:
        try:
            return str((base_dir / os.path.expanduser(text)).resolve())
        except (ValueError, OSError) as exc:
            raise ParamsError(f"params key '{key}': {shown(text)} is not a usable path: {exc}") from None
    return text


def _validate_data_sources(value: Mapping[str, Any]) -> None:
    allowed = {"dialect", "search_path", "default_database", "warehouse"}
    for name, conf in value.items():
        entry = f"bi.data_sources.{_short(name)}"
        where = f"params key '{entry}'"
        if not isinstance(conf, Mapping):
            raise ParamsError(f"{where}: expected a mapping with {', '.join(sorted(allowed))}")
        for sub in conf:
            if sub not in allowed:
                close = difflib.get_close_matches(str(sub)[:100], sorted(allowed), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ParamsError(f"{where}: unknown key '{_short(str(sub))}'{hint}")
        path = conf.get("search_path", [])
        if not isinstance(path, list) or not all(isinstance(p, str) for p in path):
            raise ParamsError(f"params key '{entry}.search_path': expected a list of schema names")
        for sub in ("dialect", "default_database"):
            if conf.get(sub) is not None and not isinstance(conf[sub], str):
                raise ParamsError(f"params key '{entry}.{sub}': expected text, got {shown(conf[sub])}")
        if conf.get("warehouse") is not None and not isinstance(conf["warehouse"], bool):
            raise ParamsError(f"params key '{entry}.warehouse': expected true or false, got {shown(conf['warehouse'])}")


def _validate_dialects(value: Mapping[str, Any]) -> None:
    for adapter, dialect in value.items():
        if not isinstance(dialect, str):
            raise ParamsError(f"params key 'sql.dialects.{_short(adapter)}': expected a sqlglot dialect name, "
                              f"got {shown(dialect)}")


APPLY_KINDS = ("deletion_pr", "exposures_pr", "archive", "delete_archived")


def _validate_apply_kinds(kinds: Sequence[str]) -> None:
    unknown = [k for k in kinds if k not in APPLY_KINDS]
    if unknown:
        raise ParamsError(f"params key 'cleanup.apply_kinds': {shown(unknown[0])} is not one of {', '.join(APPLY_KINDS)}")


PR_KINDS = frozenset({"deletion_pr", "exposures_pr"})
REPORT_KINDS = frozenset({"archive", "delete_archived"})


def _check_apply(values: Mapping[str, Any]) -> None:
    """``cleanup.apply`` on needs kinds, and each kind the settings it acts through."""
    url = values["publish.base_url"]
    if url and (urlsplit(url).scheme not in {"http", "https"} or not urlsplit(url).netloc):
        raise ParamsError(f"params key 'publish.base_url': {shown(url)} is not an http(s) URL")
    if not values["cleanup.apply"]:
        return
    kinds = set(values["cleanup.apply_kinds"])
    if not kinds:
        raise ParamsError("params key 'cleanup.apply' is on but 'cleanup.apply_kinds' is empty: name what to carry "
                          f"out ({', '.join(APPLY_KINDS)}), or set cleanup.apply to false for a dry run")
    if kinds & PR_KINDS and not values["github.repo"]:
        raise ParamsError("params key 'github.repo' is empty: cleanup.apply_kinds "
                          f"{', '.join(sorted(kinds & PR_KINDS))} opens pull requests on GitHub (owner/name)")
    if kinds & PR_KINDS and not values["git.remote"]:
        raise ParamsError("params key 'git.remote' is empty: a pull request's branch is pushed there first")
    if kinds & REPORT_KINDS and values["bi.source"] == "snapshot":
        raise ParamsError(f"params key 'bi.source' is {values['bi.source']!r}: cleanup.apply_kinds "
                          f"{', '.join(sorted(kinds & REPORT_KINDS))} acts on reports through the BI tool's API "
                          "(bi.source: mode_api), a snapshot has none")


def _parse_override(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise ParamsError(f"--set {shown(item)}: expected key=value")
    key, raw = item.split("=", 1)
    key = key.strip()
    if key not in SPECS:
        raise ParamsError(f"--set: unknown params key '{_short(key)}'{_suggest(key)}")
    spec = SPECS[key]
    if spec.kind in {"mapping", "list"} and raw.strip()[:1] in {"{", "["}:
        return key, load_yaml(raw, f"--set {key}")
    return key, raw


@dataclass(frozen=True)
class Params:
    """Validated parameters. ``values`` holds every key of SCHEMA, coerced and resolved."""

    values: Mapping[str, Any]
    source_path: Path | None = None
    overrides: tuple[str, ...] = field(default=())

    def get(self, key: str) -> Any:
        if key not in SPECS:
            raise KeyError(f"unknown params key '{key}'{_suggest(key)}")
        return self.values[key]

    def __getitem__(self, key: str) -> Any:
        return self.get(key)

    def path(self, key: str) -> Path | None:
        value = self.get(key)
        return Path(value) if value else None

    @property
    def runs_dir(self) -> Path:
        return Path(self.values["run.runs_dir"])

    @property
    def history_path(self) -> Path:
        """The history store: ``history.path``, else ``history.duckdb`` in the runs folder."""
        return self.path("history.path") or self.runs_dir / "history.duckdb"

    def now(self) -> datetime:
        text = self.values["staleness.now"]
        return parse_datetime(text) if text else datetime.now(timezone.utc)

    def data_source_config(self, source_id: Any, source_name: str | None = None) -> Mapping[str, Any]:
        """The `bi.data_sources` entry for a data source, by id first, then by name."""
        sources = self.values["bi.data_sources"]
        for candidate in (str(source_id), source_name):
            if candidate is not None and candidate in sources:
                return sources[candidate]
        return {}

    def to_dict(self) -> dict[str, Any]:
        nested: dict[str, Any] = {}
        for key, value in self.values.items():
            section, name = key.split(".", 1)
            nested.setdefault(section, {})[name] = value
        return nested

    def write_effective(self, path: Path) -> None:
        """Write the validated params (absolute paths) as YAML, atomically."""
        buffer = io.StringIO()
        yaml = YAML(typ="safe", pure=True)
        yaml.default_flow_style = False
        yaml.width = 4096  # a long path stays on its key's line (at 80 columns YAML folds it onto the next)
        yaml.dump(self.to_dict(), buffer)
        write_text_atomic(path, buffer.getvalue())


def build_params(data: Mapping[str, Any] | None, base_dir: Path, overrides: Sequence[str] = (),
                 origin: str = "params") -> Params:
    """Validate a nested params mapping (plus overrides) against SCHEMA."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ParamsError(f"{origin}: expected a mapping of sections at the top level")
    flat = _flatten(data, origin)
    for item in overrides:
        key, raw = _parse_override(item)
        flat[key] = raw
    values: dict[str, Any] = {}
    for spec in SCHEMA:
        raw_value = flat.get(spec.key, spec.default)
        try:
            values[spec.key] = _coerce(spec, raw_value, base_dir)
        except ParamsError as exc:
            raise ParamsError(f"{origin}: {exc}") from None
    try:
        _validate_data_sources(values["bi.data_sources"])
        _validate_dialects(values["sql.dialects"])
        _validate_apply_kinds(values["cleanup.apply_kinds"])
        _check_apply(values)
    except ParamsError as exc:
        raise ParamsError(f"{origin}: {exc}") from None
    return Params(values=values, overrides=tuple(overrides))


def load_params(path: Path | str, overrides: Sequence[str] = ()) -> Params:
    """Load and validate a params YAML file; a bad file gets one message naming the key."""
    try:
        path = Path(path).expanduser().resolve()
    except (ValueError, OSError, RuntimeError) as exc:
        raise ParamsError(f"params file {shown(str(path))}: not a usable path: {exc}") from None
    if path.is_dir():
        raise ParamsError(f"params file {path} is a folder, not a YAML file")
    if not path.is_file():
        raise ParamsError(f"params file not found: {path}")
    data = load_yaml(read_text_file(path, "params file"), str(path))
    params = build_params(data, path.parent, overrides, origin=str(path))
    return Params(values=params.values, source_path=path, overrides=tuple(overrides))


def params_table_markdown() -> str:
    """The README's params table, generated from SCHEMA (a test keeps README in sync)."""
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for spec in SCHEMA:
        kind = f"one of {', '.join(spec.choices)}" if spec.kind == "choice" else spec.kind
        if spec.minimum is not None or spec.maximum is not None:
            low = "" if spec.minimum is None else f"{spec.minimum:g}"
            high = "" if spec.maximum is None else f"{spec.maximum:g}"
            kind += f" {low}..{high}"
        default = spec.default if spec.default not in ("", [], {}) else "—"
        rows.append(f"| `{spec.key}` | {kind} | `{default}` | {spec.help} |")
    return "\n".join(rows)
