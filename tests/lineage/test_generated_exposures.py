"""Exposures of metapipeline's generated file keep nothing alive: their BI report decides."""

from __future__ import annotations

import networkx as nx

from lineage_utils.lineage.orphans import Protection, decide, find_consumers, find_orphans, orphan_ids
from lineage_utils.params import load_params
from tests.conftest import DEMO_PARAMS

GENERATED = "models/metapipeline_exposures.yml"
PROTECTION = Protection(generated_exposures=GENERATED, project="p")


def graph_with(exposure_path: str, active: bool, package: str = "p") -> nx.DiGraph:
    """model.p.a read by report r (active or stale) and named by an exposure declared at ``exposure_path``."""
    g = nx.DiGraph()
    g.add_node("model.p.a", kind="model", name="a", package="p", path="models/a.sql")
    g.add_node("mode.report.r", kind="bi_report", name="r", token="r", active=active, stale=not active,
               stale_rules=[] if active else ["low_usage"])
    g.add_node("q.r", kind="bi_query", name="q r")
    g.add_edge("q.r", "mode.report.r", provenance="bi")
    g.add_edge("model.p.a", "q.r", provenance="sql", status="resolved", conditional=False, refs=["a"])
    g.add_node(f"exposure.{package}.mode_r", kind="exposure", name="mode_r", package=package, path=exposure_path)
    g.add_edge("model.p.a", f"exposure.{package}.mode_r", provenance="exposure")
    return g


def test_a_generated_exposure_over_a_stale_report_leaves_the_model_an_orphan():
    g = graph_with(GENERATED, active=False)
    found = {o.unique_id: o for o in find_orphans(g, find_consumers(g, PROTECTION))}
    assert set(found) == {"model.p.a"}
    assert found["model.p.a"].reason == "only_inactive_reports"
    assert "generated exposures do not keep it" in found["model.p.a"].evidence


def test_a_hand_written_exposure_keeps_the_model():
    g = graph_with("models/exposures.yml", active=False)
    assert find_consumers(g, PROTECTION) == {"exposure.p.mode_r": "exposure"}
    assert find_orphans(g, find_consumers(g, PROTECTION)) == []


def test_a_generated_exposure_over_an_active_report_changes_nothing():
    g = graph_with(GENERATED, active=True)
    assert find_consumers(g, PROTECTION) == {"mode.report.r": "active_report"}
    assert find_orphans(g, find_consumers(g, PROTECTION)) == []


def test_an_installed_package_exposure_at_the_same_path_is_hand_written():
    g = graph_with(GENERATED, active=False, package="other")
    assert find_consumers(g, PROTECTION) == {"exposure.other.mode_r": "exposure"}


def test_the_path_is_compared_as_posix():
    g = graph_with("models\\metapipeline_exposures.yml", active=False)
    assert find_consumers(g, Protection(generated_exposures="./" + GENERATED)) == {}


def test_without_a_generated_path_every_exposure_is_a_consumer():
    g = graph_with(GENERATED, active=False)
    assert find_consumers(g, Protection()) == {"exposure.p.mode_r": "exposure"}


def test_decide_marks_the_generated_exposure():
    g = graph_with(GENERATED, active=False)
    g.add_node("exposure.p.board", kind="exposure", name="board", package="p", path="models/exposures.yml")
    decide(g, PROTECTION)
    assert g.nodes["exposure.p.mode_r"]["generated"] is True
    assert g.nodes["exposure.p.board"]["generated"] is False
    assert g.nodes["model.p.a"]["generated"] is False
    assert orphan_ids(g) == {"model.p.a"}


def test_from_params_reads_exposures_path_and_takes_the_project():
    params = load_params(DEMO_PARAMS, ["exposures.path=models/gen/x.yml"])
    protection = Protection.from_params(params, "metapipeline_demo")
    assert (protection.generated_exposures, protection.project) == ("models/gen/x.yml", "metapipeline_demo")
    assert Protection.from_params(params).project is None
