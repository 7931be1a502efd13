"""Deleted models leave the generated exposures file; plan_deletion records it with the docs blocks it cuts."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage_utils.actions.patch import plan_deletion
from lineage_utils.actions.yaml_edit import drop_exposure_refs
from lineage_utils.dbt.docs import DocBlock
from lineage_utils.dbt.exposures import HEADER
from lineage_utils.lineage.orphans import Orphan

GENERATED = "models/metapipeline_exposures.yml"
FILE = HEADER + """version: 2
exposures:
  - name: mode_aaa
    label: "Legacy coupons"
    type: dashboard
    depends_on:
      - ref('fct_legacy_coupons')
    tags:
      - metapipeline
  - name: mode_bbb
    label: "Orders and coupons"
    type: analysis
    depends_on:
      - ref('fct_legacy_coupons')
      - ref('fct_orders')
      - source('shop', 'orders')
    tags:
      - metapipeline
"""
LEGACY = {"model.p.fct_legacy_coupons": "fct_legacy_coupons"}


def test_a_ref_leaves_depends_on_and_the_rest_is_kept():
    edit = drop_exposure_refs(FILE.replace("  - name: mode_aaa", "  - name: mode_zzz"), LEGACY)
    assert edit.after is not None and "ref('fct_legacy_coupons')" not in edit.after
    assert edit.after.startswith(HEADER) and "      - ref('fct_orders')\n      - source('shop', 'orders')\n" in edit.after
    assert edit.removed == ("mode_zzz",) and set(edit.dropped) == {"mode_zzz", "mode_bbb"}


def test_an_exposure_left_without_dependencies_goes_and_only_its_lines_change():
    edit = drop_exposure_refs(FILE, LEGACY)
    lines = FILE.splitlines(keepends=True)
    start = lines.index("  - name: mode_aaa\n")
    expected = lines[:start] + lines[start + 7:]
    expected.remove("      - ref('fct_legacy_coupons')\n")
    assert edit.after == "".join(expected)
    assert edit.dropped == {"mode_aaa": ("model.p.fct_legacy_coupons",), "mode_bbb": ("model.p.fct_legacy_coupons",)}
    assert edit.removed == ("mode_aaa",)


def test_the_file_left_with_no_exposure_is_deleted():
    edit = drop_exposure_refs(FILE, {**LEGACY, "model.p.fct_orders": "fct_orders", "model.p.other": "other"})
    assert edit.after == FILE.replace("      - ref('fct_legacy_coupons')\n      - ref('fct_orders')\n", "") \
        .replace(FILE[FILE.index("  - name: mode_aaa"):FILE.index("  - name: mode_bbb")], "")
    edit = drop_exposure_refs(FILE.replace("      - source('shop', 'orders')\n", ""),
                              {**LEGACY, "model.p.fct_orders": "fct_orders"})
    assert edit.after is None and edit.removed == ("mode_aaa", "mode_bbb")


@pytest.mark.parametrize("written, deleted, dropped", [
    ('ref("fct_legacy_coupons")', "model.p.fct_legacy_coupons", True),
    ("ref('p', 'fct_legacy_coupons')", "model.p.fct_legacy_coupons", True),
    ("ref('other_pkg', 'fct_legacy_coupons')", "model.p.fct_legacy_coupons", False),
    ("ref( 'fct_legacy_coupons' , v=2 )", "model.p.fct_legacy_coupons.v2", True),
    ("ref('fct_legacy_coupons', v=1)", "model.p.fct_legacy_coupons.v2", False),
    ("ref('fct_legacy_coupons')", "model.p.fct_legacy_coupons.v2", False),  # the latest version: unknown here
    ("ref('fct_legacy_coupons_v2')", "model.p.fct_legacy_coupons", False),
    ("source('shop', 'fct_legacy_coupons')", "model.p.fct_legacy_coupons", False),
])
def test_ref_forms(written, deleted, dropped):
    text = FILE.replace("ref('fct_legacy_coupons')", written)
    edit = drop_exposure_refs(text, {deleted: "fct_legacy_coupons"})
    assert (edit.after != text) is dropped


def test_nothing_named_leaves_the_text_as_it_is():
    assert drop_exposure_refs(FILE, {"model.p.x": "x"}) == drop_exposure_refs(FILE, {}) \
        and drop_exposure_refs(FILE, {}).after == FILE


def test_a_file_that_is_no_yaml_is_kept_with_a_problem():
    edit = drop_exposure_refs("exposures: [\n", LEGACY)
    assert edit.after == "exposures: [\n" and edit.problem and "YAML" in edit.problem


# -- plan_deletion ---------------------------------------------------------------------------
def orphan(name: str, path: str) -> Orphan:
    return Orphan(unique_id=f"model.p.{name}", name=name, path=path, reason="no_downstream_consumer", evidence="",
                  downstream_models=(), inactive_reports=(), last_consumer=None, last_consumer_name=None,
                  last_consumer_last_run=None, materialized="table", execution_time=None, test_count=0, owner=None)


DOCS_MD = "{% docs legacy %}\nLegacy.\n{% enddocs %}\n\n{% docs orders %}\nOrders.\n{% enddocs %}\n"
DOCS = {d.unique_id: d for d in (
    DocBlock("doc.p.legacy", "legacy", "p", "models/docs.md", ("model.p.fct_legacy_coupons",)),
    DocBlock("doc.p.orders", "orders", "p", "models/docs.md", ("model.p.fct_orders",)))}


@pytest.fixture
def project(tmp_path) -> Path:
    files = {"models/fct_legacy_coupons.sql": "select 1\n", "models/fct_orders.sql": "select 1\n",
             GENERATED: FILE, "models/docs.md": DOCS_MD,
             "models/schema.yml": "version: 2\nmodels:\n  - name: fct_legacy_coupons\n  - name: fct_orders\n"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def plan(project: Path, **kwargs):
    return plan_deletion(project, [orphan("fct_legacy_coupons", "models/fct_legacy_coupons.sql")], {},
                         {"model.p.fct_legacy_coupons": "models/schema.yml"}, **kwargs)


def test_plan_deletion_cuts_docs_and_generated_refs_and_records_them(project):
    deletion = plan(project, docs=DOCS, generated_exposures=GENERATED)
    changes = {c.path: c for c in deletion.changes}
    assert set(changes) == {"models/fct_legacy_coupons.sql", "models/schema.yml", "models/docs.md", GENERATED}
    assert changes["models/docs.md"].after == "{% docs orders %}\nOrders.\n{% enddocs %}\n"
    assert "mode_aaa" not in changes[GENERATED].after and "ref('fct_legacy_coupons')" not in changes[GENERATED].after
    assert changes[GENERATED].before == FILE
    assert deletion.docs == {"model.p.fct_legacy_coupons": ("doc.p.legacy",)}
    assert deletion.exposures == {"model.p.fct_legacy_coupons": ("mode_aaa", "mode_bbb")}
    assert deletion.removed_exposures == ("mode_aaa",)
    assert deletion.problems == ()


def test_existing_callers_get_what_they_got(project):
    deletion = plan(project)
    assert {c.path for c in deletion.changes} == {"models/fct_legacy_coupons.sql", "models/schema.yml"}
    assert (deletion.docs, deletion.exposures, deletion.removed_exposures) == ({}, {}, ())


def test_a_generated_file_that_is_also_a_properties_file_is_one_change(project):
    both = FILE + "models:\n  - name: fct_legacy_coupons\n  - name: fct_orders\n"
    (project / GENERATED).write_text(both, encoding="utf-8")
    deletion = plan_deletion(project, [orphan("fct_legacy_coupons", "models/fct_legacy_coupons.sql")], {},
                             {"model.p.fct_legacy_coupons": GENERATED}, generated_exposures=GENERATED)
    [change] = [c for c in deletion.changes if c.path == GENERATED]
    assert change.before == both
    assert "fct_legacy_coupons" not in change.after and "  - name: fct_orders\n" in change.after


def test_no_generated_file_yet_is_no_problem(project):
    (project / GENERATED).unlink()
    deletion = plan(project, generated_exposures=GENERATED)
    assert deletion.problems == () and deletion.exposures == {}


def test_a_generated_path_out_of_the_project_is_a_problem_never_read(project):
    deletion = plan(project, generated_exposures="../elsewhere.yml")
    assert deletion.exposures == {} and any("exposures.path" in p for p in deletion.problems)


def test_crlf_is_kept_in_the_generated_file(project):
    (project / GENERATED).write_bytes(FILE.replace("\n", "\r\n").encode())
    deletion = plan(project, generated_exposures=GENERATED)
    [change] = [c for c in deletion.changes if c.path == GENERATED]
    assert "\r\n" in change.after and "\n" not in change.after.replace("\r\n", "")
