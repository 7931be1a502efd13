"""Deprecation as file changes: deprecation_date set in YAML, every other byte kept, and dbt reads it."""

from __future__ import annotations

import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from lineage_utils.actions.deprecate import DEPRECATIONS_FILE, deprecations_path, plan_deprecation
from lineage_utils.actions.strategy import RemovalDecision
from lineage_utils.dbt import build as dbt_build
from lineage_utils.dbt.artifacts import load_manifest

REPO = Path(__file__).resolve().parents[2]
DATE = "2026-12-31"

SCHEMA = """\
version: 2

models:
  # The customer table, kept for the CRM export.
  - name: customers  # owned by growth
    # its columns
    columns:
      - name: id
        data_tests: [unique, 'not_null']
  - name: "orders"
    description: >
      Orders, one row each.
  - name: legacy_ids
    deprecation_date: 2025-01-01  # set by hand
"""


def deprecate(name: str, when: str = DATE) -> RemovalDecision:
    return RemovalDecision(f"model.p.{name}", name, "deprecate", "test", when)


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(text.encode("utf-8"))
    return tmp_path


def plan(root: Path, names: list[str], documented: dict[str, str] | None = None, sql: dict[str, str] | None = None):
    properties = {f"model.p.{n}": p for n, p in (documented or {}).items()}
    model_paths = {f"model.p.{n}": p for n, p in (sql or {}).items()}
    return plan_deprecation(root, [deprecate(n) for n in names], properties, model_paths)


def test_the_date_goes_after_the_name_and_every_other_byte_stays(tmp_path):
    root = project(tmp_path, {"models/schema.yml": SCHEMA})
    [change], problems = plan(root, ["customers", "orders"], {"customers": "models/schema.yml",
                                                              "orders": "models/schema.yml"})
    assert problems == [] and change.path == "models/schema.yml" and change.before == SCHEMA
    assert change.after == SCHEMA.replace(
        "  - name: customers  # owned by growth\n",
        f'  - name: customers  # owned by growth\n    deprecation_date: "{DATE}"\n').replace(
        '  - name: "orders"\n', f'  - name: "orders"\n    deprecation_date: "{DATE}"\n')


@pytest.mark.parametrize("written", ["2025-01-01", "'2025-01-01'", '"2025-01-01T00:00:00+00:00"'])
def test_an_existing_date_is_replaced_where_it_is_with_its_comment(tmp_path, written):
    text = SCHEMA.replace("deprecation_date: 2025-01-01  #", f"deprecation_date: {written}  #")
    root = project(tmp_path, {"models/schema.yml": text})
    [change], _ = plan(root, ["legacy_ids"], {"legacy_ids": "models/schema.yml"})
    assert change.after == text.replace(f"deprecation_date: {written}  # set by hand",
                                        f'deprecation_date: "{DATE}"  # set by hand')


def test_the_date_already_set_changes_nothing(tmp_path):
    root = project(tmp_path, {"models/schema.yml": SCHEMA})
    changes, problems = plan_deprecation(root, [deprecate("legacy_ids", "2025-01-01")],
                                         {"model.p.legacy_ids": "models/schema.yml"}, {})
    assert (changes, problems) == ([], [])


@pytest.mark.parametrize("text", [
    "version: 2\nmodels:\n    - name: a\n      columns:\n          - name: id\n            description: x\n",
    "version: 2\nmodels:\n- name: a\n  columns:\n  - name: id\n",
], ids=["four-spaces", "dash-at-margin"])
def test_the_files_own_indentation_stays(tmp_path, text):
    root = project(tmp_path, {"models/a.yml": text})
    [change], _ = plan(root, ["a"], {"a": "models/a.yml"})
    entry_indent = text.split("name: a\n", 1)[1].split("columns")[0]
    assert change.after == text.replace("name: a\n", f'name: a\n{entry_indent}deprecation_date: "{DATE}"\n', 1)


def test_crlf_line_ends_stay(tmp_path):
    text = SCHEMA.replace("\n", "\r\n")
    root = project(tmp_path, {"models/schema.yml": text})
    [change], _ = plan(root, ["orders"], {"orders": "models/schema.yml"})
    assert change.before == text
    dated = f'  - name: "orders"\r\n    deprecation_date: "{DATE}"\r\n'
    assert change.after == text.replace('  - name: "orders"\r\n', dated)


def test_models_no_yaml_documents_get_one_created_file_beside_their_sql(tmp_path):
    root = project(tmp_path, {"models/legacy/a.sql": "select 1", "models/legacy/b.sql": "select 2"})
    [change], problems = plan(root, ["b", "a"], sql={"a": "models/legacy/a.sql", "b": "models/legacy/b.sql"})
    assert problems == [] and change.path == f"models/legacy/{DEPRECATIONS_FILE}" and change.before == ""
    assert change.after == (
        "# Deprecations proposed by metapipeline (cleanup.strategy); a later run deletes these models.\n"
        "version: 2\nmodels:\n"
        f'  - name: a\n    deprecation_date: "{DATE}"\n'
        f'  - name: b\n    deprecation_date: "{DATE}"\n')
    assert not (root / change.path).exists()  # planned, never written


def test_an_existing_deprecations_file_is_extended(tmp_path):
    left = 'version: 2\nmodels:\n  - name: old  # from last month\n    deprecation_date: "2026-11-30"\n'
    root = project(tmp_path, {f"models/{DEPRECATIONS_FILE}": left, "models/new.sql": "select 1"})
    [change], _ = plan(root, ["new"], sql={"new": "models/new.sql"})
    assert change.after == left + f'  - name: new\n    deprecation_date: "{DATE}"\n'


def test_the_deprecations_file_sits_beside_the_sql_file():
    assert deprecations_path("models\\staging\\x.sql") == f"models/staging/{DEPRECATIONS_FILE}"
    assert deprecations_path("x.sql") == DEPRECATIONS_FILE


def test_a_file_the_patch_already_changes_is_edited_from_its_planned_text(tmp_path):
    root = project(tmp_path, {"models/schema.yml": SCHEMA})
    planned = SCHEMA.split("  - name: legacy_ids\n")[0]  # the deletion of legacy_ids, say
    [change], _ = plan_deprecation(root, [deprecate("orders")], {"model.p.orders": "models/schema.yml"}, {},
                                   texts={"models/schema.yml": planned})
    assert change.before == planned
    dated = f'  - name: "orders"\n    deprecation_date: "{DATE}"\n'
    assert change.after == planned.replace('  - name: "orders"\n', dated)


def test_only_deprecate_decisions_change_files(tmp_path):
    root = project(tmp_path, {"models/schema.yml": SCHEMA})
    decisions = [RemovalDecision("model.p.customers", "customers", "delete", "test", None),
                 RemovalDecision("model.p.orders", "orders", "keep", "test", "2027-01-01")]
    assert plan_deprecation(root, decisions, {"model.p.customers": "models/schema.yml",
                                              "model.p.orders": "models/schema.yml"}, {}) == ([], [])


@pytest.mark.parametrize(("path", "why"), [("../outside.yml", "climbs out"), ("/etc/x.yml", "absolute"),
                                           ("models/link/x.yml", "through a symlink")])
def test_a_path_leaving_the_project_is_refused_and_not_read(tmp_path, path, why):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = project(tmp_path / "project", {"models/a.sql": "select 1"})
    os.symlink(outside, root / "models" / "link")
    changes, problems = plan(root, ["a"], {"a": path})
    assert changes == [] and len(problems) == 1 and problems[0].startswith(f"{path}: not read:") and why in problems[0]


def test_a_refused_sql_path_refuses_its_created_file(tmp_path):
    changes, problems = plan(tmp_path, ["a"], sql={"a": "../elsewhere/a.sql"})
    assert changes == [] and "climbs out" in problems[0]


@pytest.mark.parametrize(("files", "problem"), [
    ({}, "models/schema.yml: not found in the dbt project"),
    ({"models/schema.yml": "version: 2\nmodels:\n  - name: other\n"}, "models/schema.yml: model a not found"),
    ({"models/schema.yml": "version: 2\nmodels: [unclosed\n"}, "models/schema.yml: not valid YAML"),
])
def test_what_cannot_be_set_is_a_problem_naming_file_and_model(tmp_path, files, problem):
    root = project(tmp_path, files)
    changes, problems = plan(root, ["a"], {"a": "models/schema.yml"})
    assert changes == [] and len(problems) == 1 and problems[0].startswith(problem)


def test_a_model_with_no_known_file_is_a_problem(tmp_path):
    assert plan(tmp_path, ["a"]) == ([], ["model.p.a: neither a YAML properties file nor a SQL file is known"])


@pytest.mark.slow
def test_dbt_reads_the_dates_set_in_the_demo_project(tmp_path):
    """One model with a properties entry, one without: after the changes, dbt parse carries both dates."""
    project_dir = tmp_path / "dbt_project"
    shutil.copytree(REPO / "demo" / "dbt_project", project_dir, ignore=shutil.ignore_patterns("target", "logs"))
    target = tmp_path / "target"
    assert dbt_build.run_dbt(project_dir, target, "parse").returncode == 0
    nodes = {n.name: n for n in load_manifest(target / "manifest.json").models()}
    documented, bare = nodes["stg_shop__customers"], nodes["int_legacy_coupon_usage"]
    assert documented.patch_path and bare.patch_path is None
    when = (date.today() + timedelta(days=30)).isoformat()
    decisions = [RemovalDecision(n.unique_id, n.name, "deprecate", "test", when) for n in (documented, bare)]
    changes, problems = plan_deprecation(project_dir, decisions, {documented.unique_id: documented.patch_path},
                                         {n.unique_id: n.path for n in (documented, bare)})
    assert problems == [] and len(changes) == 2
    for change in changes:
        (project_dir / change.path).write_text(change.after or "", encoding="utf-8")
    result = dbt_build.run_dbt(project_dir, target, "parse")
    assert result.returncode == 0, result.stdout[-2000:]
    after = {n.name: n for n in load_manifest(target / "manifest.json").models()}
    assert {after[n].deprecation_date[:10] for n in ("stg_shop__customers", "int_legacy_coupon_usage")} == {when}
    assert after["int_legacy_coupon_usage"].patch_path == f"models/intermediate/{DEPRECATIONS_FILE}"
    assert sum(1 for n in after.values() if n.deprecation_date) == 2
