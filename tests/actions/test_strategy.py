"""The removal strategy: each rule of decide_removal, and the node facts it reads from manifest.json."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from lineage_utils.actions.strategy import STRATEGIES, decide_removal, deprecation_day
from lineage_utils.dbt import build as dbt_build
from lineage_utils.dbt.artifacts import load_manifest, parse_manifest
from lineage_utils.dbt.frames import dbt_nodes_frame
from lineage_utils.errors import ArtifactError, ParamsError
from lineage_utils.lineage.orphans import Orphan
from lineage_utils.params import SPECS

REPO = Path(__file__).resolve().parents[2]
TODAY = date(2026, 12, 1)
IN_30 = "2026-12-31"


def orphan(name: str) -> Orphan:
    return Orphan(unique_id=f"model.p.{name}", name=name, path=f"models/{name}.sql", reason="no_downstream_consumer",
                  evidence="no path to a consumer", downstream_models=(), inactive_reports=(), last_consumer=None,
                  last_consumer_name=None, last_consumer_last_run=None, materialized="table", execution_time=None,
                  test_count=0, owner=None)


def nodes(**models: dict) -> pd.DataFrame:
    """A dbt_nodes frame: model name -> its facts (default: access protected by default, no contract, no date)."""
    rows = [{"unique_id": f"model.p.{name}", "kind": "model", "name": name, "access": "protected",
             "access_explicit": False, "contract_enforced": False, "deprecation_date": None, **facts}
            for name, facts in models.items()]
    return pd.DataFrame(rows)


def decide(strategy: str = "auto", **facts: dict):
    """The one decision about model ``m`` with ``facts``."""
    [decision] = decide_removal([orphan("m")], nodes(m=facts), strategy, TODAY, 30)
    return decision


def test_the_strategies_are_the_params_choices():
    assert STRATEGIES == SPECS["cleanup.strategy"].choices


# -- a deprecation date already set ------------------------------------------------------------
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_future_deprecation_date_keeps_the_model_until_then(strategy):
    decision = decide(strategy, deprecation_date="2027-03-01T00:00:00+00:00")
    assert (decision.how, decision.deprecation_date) == ("keep", "2027-03-01")
    assert decision.reason == "deprecated until 2027-03-01: deleted by a run on or after that date"


def test_a_future_date_keeps_even_a_contracted_model_under_delete():
    decision = decide("delete", deprecation_date="2027-03-01", contract_enforced=True)
    assert decision.how == "keep"


@pytest.mark.parametrize("strategy", ["auto", "delete"])
@pytest.mark.parametrize("when", ["2026-12-01", "2026-01-15T00:00:00+00:00"])
def test_a_deprecation_date_of_today_or_before_deletes(strategy, when):
    decision = decide(strategy, deprecation_date=when, contract_enforced=True, access="public", access_explicit=True)
    assert (decision.how, decision.deprecation_date) == ("delete", when[:10])
    assert decision.reason == f"deprecation_date {when[:10]} has passed: deleted"


def test_the_deprecate_strategy_keeps_a_model_past_its_date_rather_than_delete_or_move_it():
    decision = decide("deprecate", deprecation_date="2026-01-15")
    assert (decision.how, decision.deprecation_date) == ("keep", "2026-01-15")
    assert "never deletes" in decision.reason


def test_a_deprecation_date_is_compared_as_a_utc_day():
    assert deprecation_day("2026-12-01T23:30:00-05:00") == date(2026, 12, 2)
    assert decide("auto", deprecation_date="2026-12-01T23:30:00-05:00").how == "keep"  # 2026-12-02 in UTC


def test_a_deprecation_date_that_is_no_date_keeps_the_model_and_says_so():
    decision = decide("delete", deprecation_date="next spring")
    assert decision.how == "keep" and "'next spring' is not a date" in decision.reason


# -- no deprecation date yet -------------------------------------------------------------------
def test_the_deprecate_strategy_deprecates_for_the_days_asked():
    [decision] = decide_removal([orphan("m")], nodes(m={}), "deprecate", TODAY, 45)
    assert (decision.how, decision.deprecation_date) == ("deprecate", "2027-01-15")
    assert decision.reason == "cleanup.strategy deprecate: deprecated until 2027-01-15, deleted by a later run"


@pytest.mark.parametrize("strategy", ["auto", "delete"])
def test_a_contracted_model_is_deprecated_even_under_delete(strategy):
    decision = decide(strategy, contract_enforced=True)
    assert (decision.how, decision.deprecation_date) == ("deprecate", IN_30)
    assert "dbt refuses to delete a contracted model before its deprecation_date" in decision.reason


def test_the_delete_strategy_deletes_an_explicitly_public_model():
    decision = decide("delete", access="public", access_explicit=True)
    assert (decision.how, decision.deprecation_date, decision.reason) == ("delete", None,
                                                                          "cleanup.strategy delete: deleted")


@pytest.mark.parametrize("access", ["public", "protected"])
def test_auto_deprecates_access_set_explicitly(access):
    decision = decide("auto", access=access, access_explicit=True)
    assert (decision.how, decision.deprecation_date) == ("deprecate", IN_30)
    assert decision.reason == f"access: {access} (set explicitly): deprecated until {IN_30}, deleted by a later run"


def test_auto_deletes_a_model_left_at_dbts_default_access():
    decision = decide("auto", access="protected", access_explicit=False)
    assert (decision.how, decision.reason) == ("delete", "access: not set (dbt default), no contract: deleted")


def test_auto_deletes_an_explicitly_private_model():
    decision = decide("auto", access="private", access_explicit=True)
    assert (decision.how, decision.reason) == ("delete", "access: private, no contract: deleted")


def test_a_frame_without_the_fact_columns_reads_as_no_access_no_contract_no_date():
    frame = pd.DataFrame({"unique_id": ["model.p.m"], "access": ["public"]})
    [decision] = decide_removal([orphan("m")], frame, "auto", TODAY, 30)
    assert decision.how == "delete"  # access_explicit unknown: not explicit
    [decision] = decide_removal([orphan("m")], pd.DataFrame(), "auto", TODAY, 30)
    assert decision.how == "delete"


def test_one_decision_per_orphan_in_id_order():
    frame = nodes(b={"contract_enforced": True}, a={})
    decisions = decide_removal([orphan("b"), orphan("a"), orphan("b")], frame, "auto", TODAY, 30)
    assert [(d.name, d.how) for d in decisions] == [("a", "delete"), ("b", "deprecate")]


@pytest.mark.parametrize(("strategy", "days", "key"), [("archive", 30, "cleanup.strategy"),
                                                        ("auto", 0, "cleanup.deprecation_days"),
                                                        ("auto", True, "cleanup.deprecation_days")])
def test_a_wrong_strategy_or_day_count_names_its_key(strategy, days, key):
    with pytest.raises(ParamsError, match=rf"params key '{key}'"):
        decide_removal([orphan("m")], nodes(m={}), strategy, TODAY, days)


# -- the facts, from manifest.json -------------------------------------------------------------
def manifest(version: int = 12, **model: object) -> dict:
    node = {"unique_id": "model.p.m", "resource_type": "model", "name": "m", "package_name": "p",
            "config": {"materialized": "table"}, **model}
    return {"metadata": {"dbt_schema_version": f"https://schemas.getdbt.com/dbt/manifest/v{version}.json",
                         "project_name": "p"},
            "nodes": {"model.p.m": node},
            "exposures": {"exposure.p.e": {"unique_id": "exposure.p.e", "name": "e", "type": "dashboard",
                                           "owner": {"name": "x"}, "depends_on": {"nodes": ["model.p.m"]}}}}


def facts(data: dict) -> dict:
    frame = dbt_nodes_frame(parse_manifest(data, Path("manifest.json")))
    return frame.set_index("unique_id")[["access_explicit", "contract_enforced", "deprecation_date"]].to_dict("index")


def test_the_nodes_frame_carries_explicit_access_contract_and_deprecation_date():
    found = facts(manifest(access="protected", unrendered_config={"access": "protected"},
                           config={"contract": {"enforced": True}}, deprecation_date="2030-01-01T00:00:00+00:00"))
    assert found["model.p.m"] == {"access_explicit": True, "contract_enforced": True,
                                  "deprecation_date": "2030-01-01T00:00:00+00:00"}
    assert found["exposure.p.e"] == {"access_explicit": False, "contract_enforced": False, "deprecation_date": None}


def test_dbts_default_access_is_not_explicit():
    found = facts(manifest(access="protected", config={"access": "protected"}, unrendered_config={"schema": "s"}))
    assert found["model.p.m"]["access_explicit"] is False


@pytest.mark.parametrize(("access", "explicit"), [(None, False), ("protected", False), ("public", True)])
def test_an_older_manifest_without_the_keys_reads_false_and_none(access, explicit):
    found = facts(manifest(9, access=access))
    assert found["model.p.m"] == {"access_explicit": explicit, "contract_enforced": False, "deprecation_date": None}


def test_the_flags_are_booleans_in_the_frame():
    frame = dbt_nodes_frame(parse_manifest(manifest(), Path("manifest.json")))
    assert frame["access_explicit"].dtype == bool and frame["contract_enforced"].dtype == bool


def test_a_contract_flag_of_the_wrong_type_names_the_key():
    message = r"nodes\[\"model.p.m\"\].config.contract: key 'enforced' must be a boolean, got a string"
    with pytest.raises(ArtifactError, match=message):
        parse_manifest(manifest(config={"contract": {"enforced": "yes"}}), Path("manifest.json"))


@pytest.mark.slow
def test_real_dbt_tells_explicit_access_however_it_is_set(tmp_path):
    """dbt-core writes ``access: protected`` on every model; ``access_explicit`` is True where the project set it."""
    project = tmp_path / "dbt_project"
    shutil.copytree(REPO / "demo" / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    staging = project / "models" / "staging" / "staging.yml"
    text = staging.read_text(encoding="utf-8")
    text = text.replace("  - name: stg_shop__customers\n", "  - name: stg_shop__customers\n    access: protected\n")
    text = text.replace("  - name: stg_shop__orders\n",
                        "  - name: stg_shop__orders\n    config:\n      contract:\n        enforced: true\n")
    text = text.replace("      - name: order_id\n", "      - name: order_id\n        data_type: integer\n")
    staging.write_text(text, encoding="utf-8")
    sql = project / "models" / "intermediate" / "int_legacy_coupon_usage.sql"
    sql.write_text("{{ config(access='protected') }}\n" + sql.read_text(encoding="utf-8"), encoding="utf-8")
    settings = project / "dbt_project.yml"
    settings.write_text(settings.read_text(encoding="utf-8").replace(
        "        +schema: marketing\n", "        +schema: marketing\n        +access: protected\n"), encoding="utf-8")
    result = dbt_build.run_dbt(project, tmp_path / "target", "parse")
    assert result.returncode == 0, result.stdout[-2000:]
    models = {n.name: n for n in load_manifest(tmp_path / "target" / "manifest.json").models()}
    explicit = {name for name, node in models.items() if node.access_explicit}
    assert explicit == {"stg_shop__customers", "int_legacy_coupon_usage", "mkt_campaign_attribution",
                        "mkt_channel_performance"}
    assert {node.access for node in models.values()} == {"protected"}
    assert {name for name, node in models.items() if node.contract_enforced} == {"stg_shop__orders"}
