"""Real ``dbt parse`` after deleting a model whose docs block and generated exposures go with it.

A copy of the demo project gets a docs ``.md`` with two blocks (one used only by
``fct_legacy_coupons``, by its description and a column's; one used by the kept
``dim_customers``) and a generated exposures file with one exposure over the deleted
model alone and one over it and the kept ``fct_orders``. ``plan_deletion``'s changes,
written into a copy, must pass real ``dbt parse``; without the exposure edits dbt
refuses the file. dbt does not refuse a docs block nobody uses, so for the docs edit
the proof is the other way round: without it the block is left dead in the manifest,
and cutting the block a kept model uses (what a wrong users check would do) fails.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from lineage_utils.actions.patch import Deletion, plan_deletion
from lineage_utils.dbt import build as dbt_build
from lineage_utils.dbt.artifacts import load_project
from lineage_utils.dbt.docs import load_docs
from lineage_utils.dbt.exposures import HEADER
from lineage_utils.lineage.orphans import Orphan

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parents[2] / "demo" / "dbt_project"
PKG = "metapipeline_demo"
DELETED = f"model.{PKG}.fct_legacy_coupons"
GENERATED = "models/metapipeline_exposures.yml"
DOCS_MD = """{% docs legacy_coupons %}
Coupon redemptions of the retired 2025 loyalty programme.
{% enddocs %}

{%- docs customers -%}
One row per customer.
{%- enddocs -%}
"""
EXPOSURES = HEADER + """version: 2
exposures:
  - name: mode_legacy
    label: "Legacy coupons"
    type: dashboard
    owner:
      name: "Mode workspace demo"
    depends_on:
      - ref('fct_legacy_coupons')
    meta:
      metapipeline:
        generated: true
  - name: mode_mixed
    label: "Orders and coupons"
    type: analysis
    owner:
      name: "Mode workspace demo"
    depends_on:
      - ref('fct_legacy_coupons')
      - ref('fct_orders')
    meta:
      metapipeline:
        generated: true
"""
LEGACY_ENTRY = """  - name: fct_legacy_coupons
    description: "{{ doc('legacy_coupons') }}"
    columns:
      - name: coupon_code
        description: "{{ doc('legacy_coupons') }}"
"""


def parse(project: Path, target: Path):
    return dbt_build.run_dbt(project, target, "parse")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> tuple[Path, Path]:
    """(the prepared project, its parsed target folder): the demo with a docs file and a generated exposures file."""
    root = tmp_path_factory.mktemp("docs_parse")
    project = root / "project"
    shutil.copytree(DEMO, project, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb", "*.duckdb.wal"))
    (project / "models" / "docs").mkdir()
    (project / "models" / "docs" / "legacy.md").write_text(DOCS_MD, encoding="utf-8")
    (project / GENERATED).write_text(EXPOSURES, encoding="utf-8")
    marts = project / "models" / "marts" / "marts.yml"
    text = marts.read_text(encoding="utf-8")
    assert "  - name: dim_customers\n" in text
    text = text.replace("  - name: dim_customers\n", "  - name: dim_customers\n    description: \"{{ doc('customers') }}\"\n")
    marts.write_text(text + LEGACY_ENTRY, encoding="utf-8")
    result = parse(project, root / "target")
    assert result.returncode == 0, result.stdout[-3000:]
    return project, root / "target"


def deletion(prepared, **kwargs) -> Deletion:
    project_dir, target = prepared
    project = load_project(target)
    node = project.nodes[DELETED]
    orphan = Orphan(unique_id=DELETED, name=node.name, path=node.path, reason="only_inactive_reports",
                    evidence="read only by a stale report", downstream_models=(), inactive_reports=("legacy",),
                    last_consumer=None, last_consumer_name=None, last_consumer_last_run=None,
                    materialized=node.materialized, execution_time=None, test_count=0, owner=None)
    properties = {uid: n.patch_path for uid, n in project.nodes.items() if n.patch_path}
    return plan_deletion(project_dir, [orphan], project.tests, properties, project.semantic, **kwargs)


def applied(prepared, plan: Deletion, where: Path) -> Path:
    """A copy of the prepared project with the plan's changes written (``after``) or deleted (None)."""
    copy = where / "project"
    shutil.copytree(prepared[0], copy)
    for change in plan.changes:
        if change.after is None:
            (copy / change.path).unlink()
        else:
            (copy / change.path).write_text(change.after, encoding="utf-8", newline="")
    return copy


def test_the_docs_blocks_are_measured_from_real_doc_blocks(prepared):
    docs = load_docs(prepared[1])
    assert docs[f"doc.{PKG}.legacy_coupons"].used_by == (DELETED,)
    assert docs[f"doc.{PKG}.customers"].used_by == (f"model.{PKG}.dim_customers",)


def test_the_whole_plan_parses(prepared, tmp_path):
    plan = deletion(prepared, docs=load_docs(prepared[1]), generated_exposures=GENERATED)
    assert plan.models == (DELETED,) and plan.problems == ()
    assert plan.docs == {DELETED: (f"doc.{PKG}.legacy_coupons",)}
    assert plan.exposures == {DELETED: ("mode_legacy", "mode_mixed")} and plan.removed_exposures == ("mode_legacy",)
    changes = {c.path: c for c in plan.changes}
    assert changes["models/docs/legacy.md"].after == DOCS_MD[DOCS_MD.index("{%- docs customers"):]
    copy = applied(prepared, plan, tmp_path)
    result = parse(copy, tmp_path / "target")
    assert result.returncode == 0, result.stdout[-3000:]
    after = load_docs(tmp_path / "target")
    assert f"doc.{PKG}.legacy_coupons" not in after and f"model.{PKG}.dim_customers" in after[f"doc.{PKG}.customers"].used_by
    exposures = load_project(tmp_path / "target").exposures
    assert set(exposures) == {f"exposure.{PKG}.board_kpis_dashboard", f"exposure.{PKG}.mode_mixed"}
    assert exposures[f"exposure.{PKG}.mode_mixed"].depends_on == (f"model.{PKG}.fct_orders",)


def test_without_the_exposure_edits_dbt_refuses(prepared, tmp_path):
    plan = deletion(prepared, docs=load_docs(prepared[1]))
    assert GENERATED not in {c.path for c in plan.changes}
    result = parse(applied(prepared, plan, tmp_path), tmp_path / "target")
    assert result.returncode != 0
    assert "depends on a node named 'fct_legacy_coupons' which was not found" in result.stdout, result.stdout[-3000:]


def test_without_the_docs_edit_the_block_is_left_dead(prepared, tmp_path):
    plan = deletion(prepared, generated_exposures=GENERATED)
    result = parse(applied(prepared, plan, tmp_path), tmp_path / "target")
    assert result.returncode == 0, result.stdout[-3000:]
    left = load_docs(tmp_path / "target")[f"doc.{PKG}.legacy_coupons"]
    assert (left.used_by, left.maybe_used_by) == ((), ())


def test_cutting_a_block_a_kept_model_uses_fails(prepared, tmp_path):
    plan = deletion(prepared, docs=load_docs(prepared[1]), generated_exposures=GENERATED)
    md = "models/docs/legacy.md"
    wrong = replace(plan, changes=tuple(replace(c, after=None) if c.path == md else c for c in plan.changes))
    result = parse(applied(prepared, wrong, tmp_path), tmp_path / "target")
    assert result.returncode != 0 and "depends on doc 'customers'" in result.stdout, result.stdout[-3000:]
