"""The deletion patch takes every test that touches a deleted model with it (no dbt here: see test_patch_applies)."""

from __future__ import annotations

import json
import subprocess

from lineage_utils.actions.patch import plan_deletion, render_patch
from lineage_utils.actions.plan import plan_actions
from lineage_utils.actions.yaml_edit import edit_properties
from lineage_utils.dbt.tests_of import DbtTest
from lineage_utils.lineage.orphans import Orphan

SCHEMA = """\
version: 2

# Orders and customers. This comment and the order of entries survive.
models:
  - name: orders
    description: One row per order.  # kept
    columns:
      - name: customer_id
        data_tests:
          - not_null
          # the old CRM ids
          - relationships:
              arguments:
                to: ref('legacy_ids')
                field: id

  - name: legacy_ids
    description: Old CRM ids.
"""


def orphan(name: str, path: str) -> Orphan:
    return Orphan(unique_id=f"model.p.{name}", name=name, path=path, reason="no_downstream_consumer",
                  evidence="no path to a consumer", downstream_models=(), inactive_reports=(), last_consumer=None,
                  last_consumer_name=None, last_consumer_last_run=None, materialized="view", execution_time=None,
                  test_count=0, owner=None)


RELATIONSHIPS = DbtTest(unique_id="test.p.relationships_orders_customer_id__id__ref_legacy_ids_.1", name="relationships",
                        path="models/schema.yml", touches=("model.p.legacy_ids", "model.p.orders"), yaml_key="models",
                        entry="orders", column="customer_id", attached_node="model.p.orders",
                        arguments={"to": json.dumps("ref('legacy_ids')"), "field": json.dumps("id")})
NOT_NULL = DbtTest(unique_id="test.p.not_null_orders_customer_id.2", name="not_null", path="models/schema.yml",
                   touches=("model.p.orders",), yaml_key="models", entry="orders", column="customer_id",
                   attached_node="model.p.orders")
SINGULAR = DbtTest(unique_id="test.p.assert_ids", name="assert_ids", path="tests/assert_ids.sql",
                   touches=("model.p.legacy_ids", "model.p.orders"))


def project(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "models" / "schema.yml").write_text(SCHEMA)
    (tmp_path / "models" / "legacy_ids.sql").write_text("select 1 as id\n")
    (tmp_path / "models" / "orders.sql").write_text("select 1 as customer_id\n")
    (tmp_path / "tests" / "assert_ids.sql").write_text("select * from {{ ref('legacy_ids') }}")  # no newline
    return tmp_path


TESTS = {t.unique_id: t for t in (RELATIONSHIPS, NOT_NULL, SINGULAR)}


def test_a_relationships_test_on_a_surviving_model_goes_with_its_to_model(tmp_path):
    deletion = plan_deletion(project(tmp_path), [orphan("legacy_ids", "models/legacy_ids.sql")], TESTS,
                             {"model.p.legacy_ids": "models/schema.yml"})
    (schema,) = [c for c in deletion.changes if c.path == "models/schema.yml"]
    assert schema.after == SCHEMA.replace("""\
          - not_null
          # the old CRM ids
          - relationships:
              arguments:
                to: ref('legacy_ids')
                field: id

  - name: legacy_ids
    description: Old CRM ids.
""", "          - not_null\n")
    assert deletion.problems == ()
    assert deletion.tests == {"model.p.legacy_ids": tuple(sorted([RELATIONSHIPS.unique_id, SINGULAR.unique_id]))}


def test_the_patch_deletes_the_sql_file_and_a_singular_test_over_the_model(tmp_path):
    patch = render_patch(plan_deletion(project(tmp_path), [orphan("legacy_ids", "models/legacy_ids.sql")], TESTS,
                                       {"model.p.legacy_ids": "models/schema.yml"}).changes)
    heads = [line for line in patch.splitlines() if line.startswith("diff --git")]
    assert heads == ["diff --git a/models/legacy_ids.sql b/models/legacy_ids.sql",
                     "diff --git a/models/schema.yml b/models/schema.yml",
                     "diff --git a/tests/assert_ids.sql b/tests/assert_ids.sql"]
    assert patch.endswith("-select * from {{ ref('legacy_ids') }}\n\\ No newline at end of file\n")


def test_the_patch_applies_with_git(tmp_path):
    (tmp_path / "repo").mkdir()
    root = project(tmp_path / "repo")
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    patch = render_patch(plan_deletion(root, [orphan("legacy_ids", "models/legacy_ids.sql")], TESTS,
                                       {"model.p.legacy_ids": "models/schema.yml"}).changes)
    (tmp_path / "cleanup.patch").write_text(patch)
    subprocess.run(["git", "apply", str(tmp_path / "cleanup.patch")], cwd=root, check=True, capture_output=True)
    assert not (root / "models" / "legacy_ids.sql").exists() and not (root / "tests" / "assert_ids.sql").exists()
    assert "legacy_ids" not in (root / "models" / "schema.yml").read_text()


def test_a_test_declared_on_the_deleted_model_goes_with_its_entry():
    text = "version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        data_tests: [unique]\n"
    edit = edit_properties(text, ["a"], [])
    assert edit.after is None and edit.removed == ("model a",)  # nothing but version: the file goes


def test_a_source_test_and_the_older_argument_form_are_found():
    text = ("version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n        columns:\n"
            "          - name: cid\n            tests:\n              - relationships:\n"
            "                  to: ref(\"x\")\n                  field: id\n")
    test = DbtTest(unique_id="test.p.source_relationships_raw_orders_cid.3", name="relationships", path="m.yml",
                   touches=("model.p.x", "source.p.raw.orders"), yaml_key="sources", entry="raw", table="orders",
                   column="cid", arguments={"to": json.dumps("ref('x')"), "field": json.dumps("id")})
    edit = edit_properties(text, [], [test])
    assert edit.not_found == ()
    assert edit.after == "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n        columns:\n" \
                         "          - name: cid\n"


def test_a_test_that_cannot_be_found_is_a_problem_not_a_silent_gap(tmp_path):
    lost = DbtTest(unique_id="test.p.relationships_gone.4", name="relationships", path="models/schema.yml",
                   touches=("model.p.legacy_ids", "model.p.customers"), yaml_key="models", entry="customers",
                   column="id", attached_node="model.p.customers", arguments={"to": json.dumps("ref('legacy_ids')")})
    deletion = plan_deletion(project(tmp_path), [orphan("legacy_ids", "models/legacy_ids.sql")], {lost.unique_id: lost},
                             {})
    assert deletion.problems == (f"models/schema.yml: {lost.unique_id} not found",)


def test_two_entries_of_one_test_are_told_apart_by_their_arguments():
    text = ("version: 2\nmodels:\n  - name: o\n    columns:\n      - name: c\n        data_tests:\n"
            "          - relationships: {to: ref('a'), field: id}\n          - relationships: {to: ref('b'), field: id}\n")
    test = DbtTest(unique_id="test.p.rel_b.5", name="relationships", path="m.yml", touches=("model.p.b", "model.p.o"),
                   yaml_key="models", entry="o", column="c", arguments={"to": json.dumps("ref('b')"), "field": '"id"'})
    assert edit_properties(text, [], [test]).after == text.replace("          - relationships: {to: ref('b'), field: id}\n",
                                                                   "")


def test_a_deletion_action_names_the_tests_it_removes(tmp_path):
    (action,) = plan_actions([], [orphan("legacy_ids", "models/legacy_ids.sql")], "r", project(tmp_path), TESTS)
    assert action.tests == tuple(sorted([RELATIONSHIPS.unique_id, SINGULAR.unique_id]))
    assert action.to_dict()["tests"] == list(action.tests)
