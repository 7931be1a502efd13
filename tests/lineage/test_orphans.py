"""Consumers and orphans on small hand-made graphs: one behaviour per test."""

from __future__ import annotations

import networkx as nx

from lineage_utils.lineage.orphans import (
    Protection,
    decide,
    essential_keepers,
    find_consumers,
    find_orphans,
    keepers_in,
    orphan_ids,
    orphans_in,
)


def model(graph, uid, **attrs):
    graph.add_node(uid, kind="model", name=uid.split(".")[-1], **attrs)


def report(graph, token, active=True, **attrs):
    graph.add_node(f"mode.report.{token}", kind="bi_report", name=token, token=token, active=active, **attrs)
    graph.add_node(f"q.{token}", kind="bi_query", name=f"q {token}")
    graph.add_edge(f"q.{token}", f"mode.report.{token}", provenance="bi")


def read(graph, uid, token, status="resolved", conditional=False):
    graph.add_edge(uid, f"q.{token}", provenance="sql", status=status, conditional=conditional, refs=[uid])


def chain(graph, *uids):
    for uid in uids:
        model(graph, uid)
    for up, down in zip(uids, uids[1:]):
        graph.add_edge(up, down, provenance="dbt")


def orphans_of(graph, protection=Protection()):
    return {o.unique_id: o for o in find_orphans(graph, find_consumers(graph, protection))}


def test_dead_chain_is_orphaned_together():
    g = nx.DiGraph()
    chain(g, "m.a", "m.b", "m.c")
    found = orphans_of(g)
    assert set(found) == {"m.a", "m.b", "m.c"}
    assert found["m.a"].downstream_models == ("m.b", "m.c")
    assert found["m.c"].reason == "no_downstream_consumer"


def test_upstream_of_active_report_is_alive():
    g = nx.DiGraph()
    chain(g, "m.a", "m.b")
    report(g, "r1")
    read(g, "m.b", "r1")
    assert orphans_of(g) == {}


def test_read_only_by_stale_report_is_orphan_with_last_consumer():
    g = nx.DiGraph()
    model(g, "m.a")
    report(g, "old", active=False, stale=True, stale_rules=["low_usage"], last_run_at="2025-01-01")
    report(g, "older", active=False, archived=True, last_run_at="2024-01-01")
    read(g, "m.a", "old")
    read(g, "m.a", "older")
    found = orphans_of(g)["m.a"]
    assert found.reason == "only_inactive_reports"
    assert found.last_consumer == "old"
    assert set(found.inactive_reports) == {"old", "older"}


def test_ambiguous_read_protects_every_candidate():
    g = nx.DiGraph()
    model(g, "m.a")
    model(g, "m.b")
    report(g, "r1")
    read(g, "m.a", "r1", status="ambiguous")
    read(g, "m.b", "r1", status="ambiguous")
    assert orphans_of(g) == {}
    keepers = essential_keepers(g, find_consumers(g, Protection()))
    assert keepers == {"m.a": ("active_report", "ambiguous_reference"), "m.b": ("active_report", "ambiguous_reference")}


def test_exposure_is_a_consumer():
    g = nx.DiGraph()
    model(g, "m.a")
    g.add_node("exposure.p.deck", kind="exposure", name="deck")
    g.add_edge("m.a", "exposure.p.deck", provenance="exposure")
    assert orphans_of(g) == {}


def test_tag_meta_access_and_selector_protect():
    g = nx.DiGraph()
    model(g, "m.tagged", tags=["keep"])
    model(g, "m.meta", meta={"keep": True})
    model(g, "m.public", access="public")
    model(g, "m.selected", fqn=["p", "finance", "selected"])
    model(g, "m.plain")
    found = orphans_of(g, Protection(selectors=("p.finance.*",)))
    assert set(found) == {"m.plain"}


def test_access_public_protection_can_be_switched_off():
    g = nx.DiGraph()
    model(g, "m.public", access="public")
    assert set(orphans_of(g, Protection(access_public=False))) == {"m.public"}


def test_conditional_read_keeps_alive_and_is_named():
    g = nx.DiGraph()
    model(g, "m.a")
    report(g, "r1")
    read(g, "m.a", "r1", conditional=True)
    assert orphans_of(g) == {}
    assert essential_keepers(g, find_consumers(g, Protection())) == {"m.a": ("active_report", "conditional_read")}


def test_dataset_imported_by_active_report_keeps_model_alive():
    g = nx.DiGraph()
    model(g, "m.a")
    report(g, "ds", active=False, report_type="DatasetReport")
    report(g, "r1")
    read(g, "m.a", "ds")
    g.add_edge("mode.report.ds", "mode.report.r1", provenance="dataset")
    assert orphans_of(g) == {}
    assert essential_keepers(g, find_consumers(g, Protection())) == {"m.a": ("active_report", "dataset")}


def test_the_stored_decision_reads_back_as_deciding_gave_it():
    g = nx.DiGraph()
    chain(g, "m.src", "m.live", "m.dead")
    model(g, "m.cond")
    report(g, "r1")
    read(g, "m.live", "r1")
    read(g, "m.cond", "r1", conditional=True)
    decide(g, Protection())
    assert orphan_ids(g) == {"m.dead"} and g.nodes["m.live"]["orphan"] is False
    assert orphans_in(g) == find_orphans(g, find_consumers(g, Protection()))
    assert keepers_in(g) == {m: k for m, k in essential_keepers(g, find_consumers(g, Protection())).items() if k}
    assert keepers_in(g)["m.cond"] == ("active_report", "conditional_read")
    assert g.nodes["m.src"]["consumer"] is None and g.nodes["m.dead"]["kept_alive_by"] == []
