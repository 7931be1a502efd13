"""A notebook run alone in JupyterLab gives the answers of a full run under the same params."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from lineage_utils import stages
from lineage_utils.errors import ChainError
from lineage_utils.params import load_params
from lineage_utils.run_folder import STAGES, Run
from tests.conftest import DEMO_PARAMS, demo_overrides


def params_file(path, demo_target, runs, *extra: str):
    load_params(DEMO_PARAMS, [*demo_overrides(demo_target, runs), *extra]).write_effective(path)
    return str(path)


def answers(result: stages.CleanupResult) -> dict:
    return {"stale": result.stale, "orphans": result.orphans, "keepers": result.keepers,
            "exposures": result.exposures_yaml, "actions": [replace(a, run_id="") for a in result.actions]}


def assert_same(left: dict, right: dict) -> None:
    for key in ("stale", "orphans", "keepers"):
        pd.testing.assert_frame_equal(left[key], right[key], obj=key)
    assert left["exposures"] == right["exposures"] and left["actions"] == right["actions"]


@pytest.mark.slow  # builds the demo with real dbt
def test_cleanup_alone_after_a_staleness_change_equals_a_full_run(demo_target, tmp_path):
    runs = tmp_path / "runs"
    before = params_file(tmp_path / "before.yaml", demo_target, runs)
    after = params_file(tmp_path / "after.yaml", demo_target, runs, "staleness.last_run_days=10000")

    first = stages.open_run(before, stage="04_cleanup")  # an empty runs/lab: every stage runs first
    assert [stage for stage, _ in first.reran] == ["01_crawl", "02_merge", "03_rank"]
    old = answers(stages.cleanup(first))

    alone = stages.open_run(after, stage="04_cleanup")  # the same runs/lab, a raised threshold
    assert alone.run_dir == first.run_dir
    assert alone.reran == (
        ("02_merge", "query_refs.parquet was made under other params (staleness.last_run_days: 100 -> 10000)"),
        ("03_rank", "centrality.parquet was made under other params (staleness.last_run_days: 100 -> 10000)"),
    )
    relaxed = answers(stages.cleanup(alone))

    full = Run(run_dir=tmp_path / "full", params=load_params(after))
    full.data_dir.mkdir(parents=True)
    for stage in STAGES[:-1]:
        stages.RUNNERS[stage](full)
    assert_same(relaxed, answers(stages.cleanup(full)))
    assert len(relaxed["stale"]) < len(old["stale"]) and len(relaxed["orphans"]) < len(old["orphans"])

    again = stages.open_run(after, stage="04_cleanup")
    assert again.reran == ()


def test_an_unknown_stage_is_named_with_the_chain():
    with pytest.raises(ChainError, match=r"unknown stage '05_publish' \(the chain: 01_crawl, 02_merge, 03_rank, 04_cleanup\)"):
        stages.open_run(str(DEMO_PARAMS), stage="05_publish")
