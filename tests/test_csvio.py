"""csvio: the CSV twins of parquet artifacts, plain and inert in a spreadsheet."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from lineage_utils.csvio import csv_cell, frame_to_csv


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text(text):
    assert csv_cell(text) == "'" + text


def test_lists_missing_values_and_numbers_read_plainly():
    frame = pd.DataFrame({"name": ["a", None], "rules": [np.array(["last_run_too_old", "low_usage"]), []],
                          "runs": [3, 4], "rate": [0.5, float("nan")], "active": [True, False],
                          "at": [pd.Timestamp("2026-10-01T06:00:00Z"), pd.NaT]})
    rows = list(csv.reader(io.StringIO(frame_to_csv(frame))))
    assert rows == [["name", "rules", "runs", "rate", "active", "at"],
                    ["a", "last_run_too_old; low_usage", "3", "0.5", "true", "2026-10-01T06:00:00+00:00"],
                    ["", "", "4", "", "false", ""]]


def test_the_run_folder_writes_a_csv_twin_beside_each_parquet_file(tmp_path):
    from lineage_utils.params import load_params
    from lineage_utils.run_folder import Run
    from tests.conftest import DEMO_PARAMS

    run = Run(run_dir=tmp_path / "run", params=load_params(DEMO_PARAMS))
    run.data_dir.mkdir(parents=True)
    path = run.write_frame("stale_reports", pd.DataFrame({"name": ["=cmd|' /C calc'!A0"], "views": [2]}))
    twin = path.with_suffix(".csv")
    assert twin.read_text() == "name,views\n'=cmd|' /C calc'!A0,2\n"
    assert run.read_frame("stale_reports")["name"].tolist() == ["=cmd|' /C calc'!A0"]  # parquet keeps the data
