"""The display text of one value in a table or a tooltip."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lineage_utils.publish.templating import visible

MISSING = "—"


def cell_text(value: Any) -> str:
    """Display text of one table cell: lists joined, missing values a dash, marks visible."""
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return ", ".join(cell_text(v) for v in value)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return MISSING
    if isinstance(value, (float, np.floating)):
        return f"{value:.6g}"
    return visible(str(value))
