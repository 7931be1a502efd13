"""Generated exposures: valid names, stable YAML, and real dbt accepts them."""

from __future__ import annotations

import re

import pytest

from lineage_utils.dbt.build import run_dbt
from lineage_utils.dbt.artifacts import load_manifest
from lineage_utils.dbt.exposures import exposure_name


@pytest.mark.parametrize("name, token, expected", [
    ("Revenue & Churn (Q3)", "abc123def456", "mode_revenue_churn_q3_abc123def456"),
    ("<script>alert(1)</script>", "abc123def456", "mode_script_alert_1_script_abc123def456"),
    ("", "abc123def456", "mode_abc123def456"),
    ("Ünïcode ñame", "0a0a0a0a0a0a", "mode_n_code_ame_0a0a0a0a0a0a"),
])
def test_exposure_names_are_valid_identifiers(name, token, expected):
    result = exposure_name(name, token)
    assert result == expected
    assert re.fullmatch(r"[a-z0-9_]+", result)


@pytest.mark.slow
def test_real_dbt_parses_generated_exposures(demo_run, demo_project_copy, demo_expected, tmp_path):
    """Drop exposures.yml into a copy of the demo project: `dbt parse` accepts it and links it."""
    (demo_project_copy / "models" / "metapipeline_exposures.yml").write_text(demo_run.read_text("exposures"))
    target = tmp_path / "target"
    result = run_dbt(demo_project_copy, target, "parse")
    assert result.returncode == 0, result.stdout[-3000:]
    project = load_manifest(target / "manifest.json")
    generated = {e.meta["metapipeline"]["mode_report_token"]: e for e in project.exposures.values()
                 if e.meta.get("metapipeline")}
    assert set(generated) == set(demo_expected["generated_exposures"])
    for token, depends in demo_expected["generated_exposures"].items():
        assert sorted(generated[token].depends_on) == sorted(depends), token
