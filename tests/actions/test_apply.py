"""``cleanup.apply`` on the demo against the stand-ins: real git with a bare remote, real dbt parse.

The demo dbt project is copied into a user's repository (``repo/dbt``) with a bare
``origin`` that logs every push it receives; the BI side is the Mode stand-in serving
the demo workspace and the Git host the GitHub stand-in, both over loopback.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lineage_utils import stages
from lineage_utils.actions.journal import read_journal
from lineage_utils.dbt.build import run_dbt
from lineage_utils.params import load_params
from lineage_utils.run_folder import Run
from lineage_utils.testing.github_standin import GitHubStandin
from tests.actions.gitrepo import git, pushes, remote_branches, user_repo, user_state
from tests.conftest import DEMO_PARAMS, REPO, demo_overrides
from tests.test_mode_chain import mode_env, mode_overrides  # noqa: F401 - mode_env is a fixture

pytestmark = pytest.mark.slow

GITHUB_REPO, GITHUB_TOKEN, GITHUB_ENV = "octo-org/analytics", "standin-gh-7Qm2xV9", "MP_TEST_GITHUB_TOKEN"
RUN_ID = "20261201T120000Z"
KINDS = "[deletion_pr, exposures_pr, archive]"


@pytest.fixture
def github(monkeypatch):
    monkeypatch.setenv(GITHUB_ENV, GITHUB_TOKEN)
    with GitHubStandin(GITHUB_REPO, GITHUB_TOKEN) as standin:
        yield standin


@pytest.fixture
def setup(tmp_path, demo_target, mode_standin, mode_env, github, crawled):
    repo = user_repo(tmp_path, REPO / "demo" / "dbt_project")
    overrides = (demo_overrides(demo_target, tmp_path / "runs") + mode_overrides(mode_standin, tmp_path)
                 + [f"dbt.project_dir={repo['project']}", "cleanup.apply=true", f"cleanup.apply_kinds={KINDS}",
                    f"github.api_url={github.api_url}", f"github.repo={GITHUB_REPO}", f"github.token_env={GITHUB_ENV}",
                    "git.remote=origin", "git.base_branch=main", "publish.base_url=https://reports.example.com/mp"])
    return {"repo": repo, "overrides": overrides, "mode": mode_standin, "github": github, "tmp": tmp_path,
            "crawled": crawled}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory, demo_target) -> Path:
    """01_crawl to 03_rank of the demo over the Mode stand-in, once: the data folder each test's 04 starts from."""
    from lineage_utils.testing import ModeStandIn
    from tests.conftest import MODE_DEMO, MODE_SECRET, MODE_TOKEN
    from tests.test_mode_chain import SECRET_ENV, TOKEN_ENV

    tmp = tmp_path_factory.mktemp("crawled")
    with ModeStandIn(MODE_DEMO, token=MODE_TOKEN, secret=MODE_SECRET) as mode, pytest.MonkeyPatch.context() as env:
        env.setenv(TOKEN_ENV, MODE_TOKEN)
        env.setenv(SECRET_ENV, MODE_SECRET)
        params = load_params(DEMO_PARAMS, demo_overrides(demo_target, tmp / "runs") + mode_overrides(mode, tmp)
                             + [f"dbt.project_dir={REPO / 'demo' / 'dbt_project'}"])
        run = Run(run_dir=tmp / "runs" / "crawled", params=params)
        run.data_dir.mkdir(parents=True)
        for stage in stages.STAGES[:-1]:
            stages.RUNNERS[stage](run)
    return run.data_dir


def new_run(setup, run_id: str = RUN_ID, *extra: str) -> Run:
    params = load_params(DEMO_PARAMS, setup["overrides"] + list(extra))
    run = Run(run_dir=setup["tmp"] / "runs" / run_id, params=params)
    if not run.data_dir.exists():
        shutil.copytree(setup["crawled"], run.data_dir)
    return run


def chain(run: Run):
    """04_cleanup in a run folder that holds the demo's crawl, merge and rank."""
    return stages.cleanup(run)


def archived_tokens(mode) -> list[str]:
    return sorted(re.search(r"/reports/([^/]+)/archive$", r.path).group(1)
                  for r in list(mode.log) if r.method == "PATCH" and r.path.endswith("/archive") and r.status == 200)


def pull_posts(github) -> int:
    return len(github.requests_to(r"/pulls$", "POST"))


def parses(repo: dict, branch: str, tmp: Path) -> bool:
    """Real dbt parse of the pushed branch, checked out from the bare remote."""
    clone = tmp / f"check-{branch.replace('/', '-')}"
    git(tmp, "clone", "-q", "--branch", branch, str(repo["remote"]), str(clone))
    return run_dbt(clone / "dbt", tmp / f"target-{clone.name}", "parse").returncode == 0


def test_apply_on_the_demo_opens_validated_prs_and_archives_the_stale_list(setup, demo_expected):
    repo, github, mode = setup["repo"], setup["github"], setup["mode"]
    before = user_state(repo["top"])
    result = chain(new_run(setup))
    applied = result.applied
    assert applied is not None
    assert (applied.deletion_pr.status, applied.exposures_pr.status) == ("opened", "opened"), applied

    # the deletion PR names every EXPECTED orphan; the exposures PR carries the generated file
    pulls = {p["head"]["ref"]: p for p in github.open_pulls()}
    deletion = pulls[f"metapipeline/cleanup-{RUN_ID}"]
    names = [uid.rsplit(".", 1)[1] for uid in demo_expected["orphan_models"]]
    assert all(re.search(rf"\b{re.escape(n.replace('_', chr(92) + '_'))}\b", deletion["body"]) for n in names)
    assert f"https://reports.example.com/mp/{RUN_ID}/index.html" in deletion["body"]
    assert deletion["base"]["ref"] == "main"
    exposures = pulls[f"metapipeline/exposures-{RUN_ID}"]

    # both branches are on the remote and pass dbt parse; the user's working tree is untouched
    branches = remote_branches(repo)
    assert {f"refs/heads/metapipeline/cleanup-{RUN_ID}", f"refs/heads/metapipeline/exposures-{RUN_ID}"} \
        <= set(branches)
    assert parses(repo, deletion["head"]["ref"], setup["tmp"])
    assert parses(repo, exposures["head"]["ref"], setup["tmp"])
    shown = git(repo["remote"], "show", f"metapipeline/exposures-{RUN_ID}:dbt/models/metapipeline_exposures.yml")
    assert shown == result.exposures_yaml
    assert user_state(repo["top"]) == before

    # archival: one call per stale report that no exemption keeps
    planned = {a.target.split(".")[-1]: a for a in result.actions if a.action == "archive_report"}
    exempt = {t for t, a in planned.items() if a.result == "skipped"}
    assert set(planned) == set(demo_expected["stale_reports"])
    assert archived_tokens(mode) == sorted(set(demo_expected["stale_reports"]) - exempt)

    # every call is journaled before and after
    rows = read_journal(new_run(setup).run_dir / "data" / "actions.jsonl")
    for kind in ("push_branch", "pull_request", "archive_report"):
        started = [r["key"] for r in rows if r["action"] == kind and r["event"] == "started"]
        finished = [r["key"] for r in rows if r["action"] == kind and r["event"] == "finished"]
        assert started and sorted(started) == sorted(finished), kind


def test_applying_twice_acts_once(setup):
    github, mode, repo = setup["github"], setup["mode"], setup["repo"]
    run = new_run(setup)
    chain(run)
    posts, archived, pushed = pull_posts(github), archived_tokens(mode), pushes(repo)
    again = stages.cleanup(run)  # the same run folder: the journal says what happened
    assert (pull_posts(github), archived_tokens(mode), pushes(repo)) == (posts, archived, pushed)
    assert {again.applied.deletion_pr.status, again.applied.exposures_pr.status} == {"unchanged"}
    assert len(github.open_pulls()) == 2


def test_a_later_run_updates_the_open_prs_of_the_same_sets(setup):
    github, repo = setup["github"], setup["repo"]
    first = chain(new_run(setup))
    pushed = pushes(repo)
    second = chain(new_run(setup, "20261202T120000Z"))
    assert second.exposures_yaml == first.exposures_yaml  # canonical: byte-identical
    assert pushes(repo) == pushed  # nothing new pushed: the same sets are open
    assert len(github.open_pulls()) == 2 and pull_posts(github) == 2
    assert {second.applied.deletion_pr.status, second.applied.exposures_pr.status} == {"updated"}
    deletion = next(p for p in github.open_pulls() if p["head"]["ref"].startswith("metapipeline/cleanup-"))
    assert "20261202T120000Z" in deletion["body"]


def test_a_different_set_opens_a_pr_that_names_the_one_it_supersedes(setup):
    github = setup["github"]
    chain(new_run(setup))
    old = next(p for p in github.open_pulls() if p["head"]["ref"].startswith("metapipeline/cleanup-"))
    later = chain(new_run(setup, "20261203T120000Z", "cleanup.strategy=deprecate"))  # same models, other change
    outcome = later.applied.deletion_pr
    assert outcome.status == "opened" and outcome.superseded == (old["number"],)
    assert outcome.branch == "metapipeline/cleanup-20261203T120000Z"
    new = next(p for p in github.open_pulls() if p["number"] == outcome.number)
    assert f"Supersedes #{old['number']}" in new["body"] and "deprecate 7 orphan dbt models" in new["title"]
    assert any(f"Superseded by #{outcome.number}" in c["body"] for c in github.comments[old["number"]])
    assert len(github.open_pulls()) == 3  # the old one stays open for a reviewer to close


def test_a_wrong_token_fails_the_pr_naming_nothing_secret_and_pushes_nothing(setup, monkeypatch):
    monkeypatch.setenv(GITHUB_ENV, "not-the-token")
    result = chain(new_run(setup))
    outcome = result.applied.deletion_pr
    assert outcome.status == "failed" and "401" in outcome.message and "not-the-token" not in outcome.message
    assert pushes(setup["repo"]) == [] and setup["github"].open_pulls() == []


def test_github_faults_are_retried_and_an_open_pr_from_our_branch_is_taken_over(setup):
    github = setup["github"]
    # a PR already open from this run's branch (the POST's answer was lost): GitHub answers 422
    github.add_pull(f"metapipeline/cleanup-{RUN_ID}", title="half-made", body="")
    github.fail(502, times=2, path_pattern=r"/pulls$", method="POST")
    github.secondary_limited(times=1, retry_after="1", path_pattern=r"/pulls$", method="GET")
    result = chain(new_run(setup))
    assert result.applied.deletion_pr.status == "opened"
    ours = [p for p in github.open_pulls() if p["head"]["ref"].startswith("metapipeline/cleanup-")]
    assert len(ours) == 1 and ours[0]["title"].startswith("metapipeline: remove 7 orphan dbt models")
    assert "<!-- metapipeline:deletion_pr set=" in ours[0]["body"]
    posts = github.requests_to(r"/pulls$", "POST")
    assert [r.status for r in posts][:2] == [502, 502] and 422 in [r.status for r in posts]


def test_an_unknown_repository_fails_with_github_404_and_pushes_nothing(setup):
    result = chain(new_run(setup, RUN_ID, "github.repo=octo-org/elsewhere"))
    outcome = result.applied.deletion_pr
    assert outcome.status == "failed" and "404" in outcome.message and "octo-org/elsewhere" in outcome.message
    assert pushes(setup["repo"]) == []


# -- crash and resume ---------------------------------------------------------------------------
CRASHER = """
import os, sys
from lineage_utils import stages
from lineage_utils.actions import apply as apply_mod
from lineage_utils.params import load_params
from lineage_utils.run_folder import Run
args = {args!r}
seen = []
def hook(step, what):
    seen.append(step)
    if step == {step!r} and seen.count(step) >= {after}:
        os._exit(9)
original = apply_mod.apply_cleanup
stages.apply_cleanup = lambda *a, **k: original(*a, hook=hook, **k)
from pathlib import Path
run = Run(run_dir=Path({run_dir!r}), params=load_params({params!r}, args))
stages.cleanup(run)
"""


def crash(setup, step: str, after: int = 1) -> Run:
    run = new_run(setup)
    script = CRASHER.format(args=setup["overrides"], step=step, after=after, run_dir=str(run.run_dir),
                            params=str(DEMO_PARAMS))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600,
                          cwd=REPO)
    assert done.returncode == 9, done.stderr[-3000:]
    return run


def test_killed_after_the_push_a_rerun_opens_the_pr_without_pushing_again(setup):
    github, repo = setup["github"], setup["repo"]
    run = crash(setup, "pushed")
    assert github.open_pulls() == [] and len(pushes(repo)) == 1
    result = stages.cleanup(run)
    assert result.applied.deletion_pr.status == "opened"
    assert len(pushes(repo)) == 2  # the exposures branch; the cleanup branch is not pushed again
    assert pull_posts(github) == 2 and len(github.open_pulls()) == 2


def test_killed_midway_through_archival_a_rerun_archives_the_rest_once(setup, demo_expected):
    mode = setup["mode"]
    run = crash(setup, "report", after=3)
    assert len(archived_tokens(mode)) == 3
    result = stages.cleanup(run)
    tokens = archived_tokens(mode)
    assert len(tokens) == len(set(tokens))  # each report archived once
    skipped = {a.target.split(".")[-1] for a in result.actions if a.action == "archive_report" and
               a.result == "skipped"}
    assert set(tokens) == set(demo_expected["stale_reports"]) - skipped


# -- dbt parse catches what the plan would break ------------------------------------------------
def _break(result, setup, target: str, drop_semantic: bool = False):
    from dataclasses import replace

    from lineage_utils.actions.apply import apply_cleanup

    plan = result.dry_run.removal
    orphan = next(o for o in plan.inputs.orphans)
    victim = replace(orphan, unique_id=f"model.metapipeline_demo.{target}", name=target,
                     path=next(p for p in (setup["repo"]["project"] / "models").rglob(f"{target}.sql")).relative_to(
                         setup["repo"]["project"]).as_posix())
    from lineage_utils.actions.gates import with_file_digests
    from lineage_utils.actions.records import Action

    action = with_file_digests(setup["repo"]["project"], [Action(
        action="delete_model", target=victim.unique_id, name=target, evidence="test", mode="dry_run",
        result="planned", run_id=RUN_ID, path=victim.path)])[0]
    inputs = replace(plan.inputs, orphans=(victim,), semantic={} if drop_semantic else plan.inputs.semantic)
    broken = replace(plan, actions=(action,), inputs=inputs, decisions=())
    run = new_run(setup, RUN_ID, "cleanup.apply_kinds=[deletion_pr]")
    return apply_cleanup(run, broken, result.exposures_file, ())


@pytest.mark.parametrize("target,semantic,message", [
    ("stg_shop__orders", False, "stg_shop__orders"),    # kept models ref it: a dangling ref
    ("fct_order_margins", True, "fct_order_margins"),   # a semantic model reads it (not removed with it)
])
def test_a_removal_that_breaks_the_project_is_caught_and_no_pr_is_opened(setup, target, semantic, message):
    result = chain(new_run(setup, RUN_ID, "cleanup.apply=false"))
    posts = pull_posts(setup["github"])
    outcome = _break(result, setup, target, semantic).deletion_pr
    assert outcome.status == "failed" and message in outcome.message, outcome
    assert pull_posts(setup["github"]) == posts
    assert not any("metapipeline/cleanup-" in ref for ref in remote_branches(setup["repo"]))
    journal = read_journal(setup["tmp"] / "runs" / RUN_ID / "data" / "actions.jsonl")
    assert [r["result"] for r in journal if r["action"] == "push_branch" and r["event"] == "finished"] == ["failed"]
    assert json.dumps(outcome.message)  # dbt's own lines, shown by the notebook


def test_the_deprecate_strategy_pushes_dates_that_dbt_parses_and_deletes_nothing(setup, demo_expected):
    repo = setup["repo"]
    result = chain(new_run(setup, RUN_ID, "cleanup.strategy=deprecate", "cleanup.deprecation_days=45"))
    outcome = result.applied.deletion_pr
    assert outcome.status == "opened", outcome
    branch = f"metapipeline/cleanup-{RUN_ID}"
    changed = git(repo["remote"], "diff", "--name-status", "main", branch).splitlines()
    assert changed and not any(line.startswith("D") for line in changed)
    assert parses(repo, branch, setup["tmp"])
    manifest = json.loads(next((setup["tmp"]).glob("target-check-*/manifest.json")).read_text())
    dated = {uid: manifest["nodes"][uid].get("deprecation_date") for uid in demo_expected["orphan_models"]}
    assert all(str(d).startswith("2026-12-16") for d in dated.values()), dated  # staleness.now + 45 days
    body = next(p for p in setup["github"].open_pulls() if p["number"] == outcome.number)["body"]
    assert "Deprecated, removed by a later run" in body
