"""CSV twins of the run's parquet artifacts: what a browser or a spreadsheet can open.

Each cell is plain text: a list is its items joined by ``"; "``, a missing value is
empty, timestamps are ISO 8601. Text from outside (report names, SQL, descriptions)
lands in spreadsheets, which run a cell starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return as a formula; such a cell is written with a leading ``'`` (OWASP's
advice against CSV injection), so it shows as the text it is. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FORMULA_STARTS", "csv_cell", "frame_to_csv"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str | int | float:
    """One cell as CSV text (numbers as numbers), inert in a spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else float(value)
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        text = "; ".join(str(csv_cell(item)) for item in value)
    elif isinstance(value, (datetime, date, pd.Timestamp)):
        text = "" if pd.isna(value) else value.isoformat()
    elif isinstance(value, dict):
        text = "; ".join(f"{k}: {csv_cell(v)}" for k, v in value.items())
    else:
        text = "" if value is pd.NA or value is pd.NaT else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def frame_to_csv(frame: pd.DataFrame) -> str:
    """The frame as CSV text: a header row, then one row per record (no index)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([str(csv_cell(c)) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue()
