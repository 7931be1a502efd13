"""Frozen records <-> data frames, for the run folder's parquet contracts.

Columns derive from ``dataclasses.fields`` (never a hand-kept list). Mappings are
stored as canonical JSON text, tuples as lists, timestamps as UTC timestamps.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from typing import Any, Callable, Iterable, Mapping

import pandas as pd



def _cell(value: Any) -> Any:
    if isinstance(value, Mapping):
        return json.dumps(dict(value), sort_keys=True, default=str)
    if isinstance(value, tuple):
        return list(value)
    return value


def records_frame(records: Iterable[Any], cls: type) -> pd.DataFrame:
    """A frame with one column per dataclass field, in declaration order."""
    names = [f.name for f in fields(cls)]
    rows = [{name: _cell(getattr(r, name)) for name in names} for r in records]
    return pd.DataFrame(rows, columns=names)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return value is pd.NaT


def plain(value: Any) -> Any:
    """A frame cell back to a plain Python value (NaN/NaT -> None, arrays -> tuples)."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, pd.Timestamp):
        return None if value is pd.NaT else value.to_pydatetime()
    if _missing(value):
        return None
    return value


def row_dicts(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def records_by_id(frame: pd.DataFrame, cls: type, convert: Callable[[dict[str, Any]], dict[str, Any]] = dict,
                  key: str = "unique_id") -> dict[str, Any]:
    """A frame of ``records_frame`` back as ``cls`` records by ``key``: unknown columns dropped, each row's
    values passed through ``convert`` (tuples, decoded JSON) first."""
    names = {f.name for f in fields(cls)}
    out: dict[str, Any] = {}
    for row in row_dicts(frame):
        out[row[key]] = cls(**convert({k: v for k, v in row.items() if k in names}))
    return out

