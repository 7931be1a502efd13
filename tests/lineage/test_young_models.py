"""The young-model guard: ages from real git repositories in tmp_path decide what is proposed."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import networkx as nx
import pandas as pd
import pytest

from lineage_utils.actions.plan import plan_actions
from lineage_utils.dbt.git_age import file_ages
from lineage_utils.lineage.orphans import Protection, decide, keepers_in, model_files, orphan_ids, orphans_in, young_in
from lineage_utils.publish import views
from tests.dbt.test_git_age import commit_files, git, init_repo

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
OLD, RECENT = "2026-01-10T00:00:00Z", "2026-10-20T00:00:00Z"  # 295 and 12 days before NOW


def project_graph(*names: str) -> nx.DiGraph:
    """Unread models ``models/<name>.sql`` of package ``p`` (every one would be an orphan)."""
    graph = nx.DiGraph()
    for name in names:
        graph.add_node(f"model.p.{name}", kind="model", name=name, package="p", path=f"models/{name}.sql")
    return graph


def decided(graph: nx.DiGraph, project_dir: Path | None, min_age_days: int = 30) -> nx.DiGraph:
    files = model_files(graph, "p")
    ages = file_ages(project_dir, files.values())
    decide(graph, Protection(min_age_days=min_age_days), {n: ages[p] for n, p in files.items()}, NOW)
    return graph


def proposed(graph: nx.DiGraph) -> set[str]:
    return {a.target for a in plan_actions([], orphans_in(graph), "20261101T000000Z") if a.action == "delete_model"}


def test_a_young_model_is_kept_and_its_reason_names_its_age(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"models/fresh.sql": "select 1"}, RECENT)
    graph = decided(project_graph("fresh"), repo)
    assert orphan_ids(graph) == set()
    assert graph.nodes["model.p.fresh"]["consumer"] == "young: first committed 12 days ago (2026-10-20)"
    assert keepers_in(graph) == {"model.p.fresh": ("young",)}
    assert proposed(graph) == set()


def test_an_old_model_is_proposed_and_shows_its_age(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"models/stale.sql": "select 1"}, OLD)
    graph = decided(project_graph("stale"), repo)
    assert orphan_ids(graph) == {"model.p.stale"}
    assert orphans_in(graph)[0].age == "first committed 295 days ago (2026-01-10)"
    assert proposed(graph) == {"model.p.stale"}


def test_a_renamed_model_counts_from_the_rename(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"models/orders.sql": "select 1 as id, 'a long enough body for rename detection'"}, OLD)
    git(repo, "mv", "models/orders.sql", "models/fct_orders.sql")
    git(repo, "commit", "-q", "-m", "rename", when=RECENT)
    graph = decided(project_graph("fct_orders"), repo)
    assert graph.nodes["model.p.fct_orders"]["consumer"].startswith("young: first committed 12 days ago")
    assert orphan_ids(graph) == set()


def test_an_uncommitted_model_is_young(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"models/old.sql": "select 1"}, OLD)
    (repo / "models" / "brand_new.sql").write_text("select 2", encoding="utf-8")
    graph = decided(project_graph("old", "brand_new"), repo)
    assert graph.nodes["model.p.brand_new"]["consumer"] == "young: not committed yet (new file)"
    assert orphan_ids(graph) == {"model.p.old"}


def test_without_a_git_repository_the_age_is_unknown_and_the_model_still_proposed(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "a.sql").write_text("select 1", encoding="utf-8")
    graph = decided(project_graph("a"), project)
    assert proposed(graph) == {"model.p.a"}
    assert orphans_in(graph)[0].age == "unknown (not a git repository)"
    result = SimpleNamespace(orphans=pd.DataFrame([vars(o) for o in orphans_in(graph)]), withheld=None, young=None)
    assert "unknown (not a git repository)" in views.orphan_plan(result)._repr_html_()


def test_the_project_dir_below_the_repository_root_works(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"warehouse/dbt/models/old.sql": "select 1"}, OLD)
    commit_files(repo, {"warehouse/dbt/models/fresh.sql": "select 2"}, RECENT)
    graph = decided(project_graph("old", "fresh"), repo / "warehouse" / "dbt")
    assert orphan_ids(graph) == {"model.p.old"}
    assert graph.nodes["model.p.fresh"]["age_days"] == 12


def test_a_model_upstream_of_a_young_one_is_kept_with_it(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"models/base.sql": "select 1"}, OLD)
    commit_files(repo, {"models/fresh.sql": "select 2"}, RECENT)
    graph = project_graph("base", "fresh")
    graph.add_edge("model.p.base", "model.p.fresh", provenance="dbt")
    decided(graph, repo)
    assert orphan_ids(graph) == set()
    assert young_in(graph) == {"model.p.base": "feeds young models: fresh",
                               "model.p.fresh": "young: first committed 12 days ago (2026-10-20)"}


def test_a_first_commit_after_now_counts_as_young(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"models/later.sql": "select 1"}, "2026-11-25T00:00:00Z")
    graph = decided(project_graph("later"), repo)
    assert graph.nodes["model.p.later"]["consumer"].startswith("young: first committed 2026-11-25, after the run's now")


def test_min_age_days_zero_turns_the_guard_off(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"models/fresh.sql": "select 1"}, "2026-11-25T00:00:00Z")
    (repo / "models" / "new.sql").write_text("select 2", encoding="utf-8")
    graph = decided(project_graph("fresh", "new"), repo, min_age_days=0)
    assert orphan_ids(graph) == {"model.p.fresh", "model.p.new"}


def test_models_of_installed_packages_get_no_age(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"models/a.sql": "select 1"}, RECENT)
    graph = project_graph("a")
    graph.add_node("model.pkg.a", kind="model", name="a", package="pkg", path="models/a.sql")
    decided(graph, repo)
    assert graph.nodes["model.pkg.a"].get("age") is None and orphan_ids(graph) == {"model.pkg.a"}


def test_the_page_lists_young_models_as_young_not_as_orphans_to_remove(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"models/old.sql": "select 1"}, OLD)
    commit_files(repo, {"models/fresh.sql": "select 2"}, RECENT)
    graph = decided(project_graph("old", "fresh"), repo)
    young = pd.DataFrame([(n, graph.nodes[n]["name"], why, graph.nodes[n]["age"], graph.nodes[n]["path"])
                          for n, why in young_in(graph).items()],
                         columns=["unique_id", "name", "kept_because", "age", "path"])
    orphans = pd.DataFrame([vars(o) for o in orphans_in(graph)])
    markup = views.orphan_plan(SimpleNamespace(orphans=orphans, withheld=None, young=young))._repr_html_()
    to_remove, kept = markup.split("Young models, kept (1)")
    assert "Orphan models to remove (1)" in to_remove and "old" in to_remove and "fresh" not in to_remove
    assert "young: first committed 12 days ago (2026-10-20)" in kept
