"""Model file ages from real git repositories made in tmp_path: one behaviour per test."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from lineage_utils.dbt.git_age import FileAge, file_ages, first_commit_times

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


def git(repo: Path, *args: str, when: str | None = None) -> str:
    """Real git in ``repo``; ``when`` (ISO 8601) sets the author and committer dates."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    result = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return result.stdout


def init_repo(repo: Path) -> Path:
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    return repo


def commit_files(repo: Path, files: dict[str, str], when: str, message: str = "change") -> None:
    """Write ``files`` (paths relative to ``repo``), stage everything, commit at ``when``."""
    for path, text in files.items():
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, when=when)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc)


def test_each_file_gets_the_time_of_the_commit_that_added_it(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"models/old.sql": "select 1"}, "2026-01-10T12:00:00Z")
    commit_files(repo, {"models/new.sql": "select 2", "models/old.sql": "select 11"}, "2026-10-20T12:00:00Z")
    ages = file_ages(repo, ["models/old.sql", "models/new.sql"])
    assert ages["models/old.sql"] == FileAge("models/old.sql", "committed", at("2026-01-10T12:00:00"))
    assert ages["models/new.sql"].first_committed_at == at("2026-10-20T12:00:00")
    assert ages["models/new.sql"].age_days(NOW) == 11
    assert ages["models/new.sql"].describe(NOW) == "first committed 11 days ago (2026-10-20)"


def test_a_renamed_file_counts_from_the_rename(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"models/orders.sql": "select 1 as id, 'a long enough body for rename detection'"},
                 "2025-06-01T00:00:00Z")
    git(repo, "mv", "models/orders.sql", "models/fct_orders.sql")
    git(repo, "commit", "-q", "-m", "rename", when="2026-10-25T00:00:00Z")
    ages = file_ages(repo, ["models/fct_orders.sql"])
    assert ages["models/fct_orders.sql"].first_committed_at == at("2026-10-25T00:00:00")


def test_a_file_deleted_and_added_again_counts_from_its_first_addition(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"models/a.sql": "select 1"}, "2025-01-01T00:00:00Z")
    git(repo, "rm", "-q", "models/a.sql")
    git(repo, "commit", "-q", "-m", "drop", when="2025-02-01T00:00:00Z")
    commit_files(repo, {"models/a.sql": "select 2"}, "2026-10-30T00:00:00Z")
    assert file_ages(repo, ["models/a.sql"])["models/a.sql"].first_committed_at == at("2025-01-01T00:00:00")


def test_untracked_and_only_staged_files_are_new(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"models/old.sql": "select 1"}, "2025-01-01T00:00:00Z")
    (repo / "models" / "untracked.sql").write_text("select 2", encoding="utf-8")
    (repo / "models" / "staged.sql").write_text("select 3", encoding="utf-8")
    git(repo, "add", "models/staged.sql")
    ages = file_ages(repo, ["models/untracked.sql", "models/staged.sql"])
    for age in ages.values():
        assert age.status == "uncommitted" and age.age_days(NOW) == 0
        assert age.describe(NOW) == "not committed yet (new file)"


def test_a_repository_without_commits_has_only_new_files(tmp_path):
    repo = init_repo(tmp_path / "repo")
    (repo / "models").mkdir()
    (repo / "models" / "a.sql").write_text("select 1", encoding="utf-8")
    assert file_ages(repo, ["models/a.sql"])["models/a.sql"].status == "uncommitted"


def test_the_project_dir_may_sit_below_the_repository_root(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"analytics/dbt/models/a.sql": "select 1", "models/a.sql": "outside the project"},
                 "2026-03-01T00:00:00Z")
    commit_files(repo, {"analytics/dbt/models/b.sql": "select 2"}, "2026-10-31T00:00:00Z")
    ages = file_ages(repo / "analytics" / "dbt", ["models/a.sql", "models/b.sql"])
    assert ages["models/a.sql"].first_committed_at == at("2026-03-01T00:00:00")
    assert ages["models/b.sql"].age_days(NOW) == 1
    assert set(first_commit_times(repo / "analytics" / "dbt")) == {"models/a.sql", "models/b.sql"}


def test_paths_with_spaces_and_non_ascii_letters_are_found(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"models/my model.sql": "select 1", "models/umsätze.sql": "select 2"}, "2026-05-05T00:00:00Z")
    ages = file_ages(repo, ["models/my model.sql", "models/umsätze.sql"])
    assert {a.status for a in ages.values()} == {"committed"}


def test_outside_a_git_repository_every_age_is_unknown(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "a.sql").write_text("select 1", encoding="utf-8")
    age = file_ages(project, ["models/a.sql"])["models/a.sql"]
    assert age.status == "unknown" and age.age_days(NOW) is None
    assert age.describe(NOW) == "unknown (not a git repository)"


def test_without_git_installed_ages_are_unknown_and_say_so(tmp_path, monkeypatch):
    repo = init_repo(tmp_path / "repo")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert file_ages(repo, ["models/a.sql"])["models/a.sql"].describe(NOW) == "unknown (git is not installed)"


def test_a_file_neither_committed_nor_present_is_unknown(tmp_path):
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"models/a.sql": "select 1"}, "2026-01-01T00:00:00Z")
    assert file_ages(repo, ["models/gone.sql"])["models/gone.sql"].why_unknown == "no such file, and no commit adds it"


def test_without_a_project_dir_ages_are_unknown():
    assert file_ages(None, ["models/a.sql"])["models/a.sql"].why_unknown == "dbt.project_dir is not set"


def test_a_commit_after_now_is_described_as_new():
    age = FileAge("models/a.sql", "committed", at("2026-11-25T11:45:29"))
    assert age.age_days(NOW) == -25
    assert age.describe(NOW) == "first committed 2026-11-25, after the run's now (2026-11-01)"
