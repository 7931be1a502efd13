"""Issue 19's demo outcomes: 03_rank's ranking, priority, critical path and charts; one history row per run;
the Slack stand-in gets one well-formed message (and the chart when a bot token is set)."""

from __future__ import annotations

import json

import pytest

from lineage_utils import stages
from lineage_utils.history.queries import read_trends
from lineage_utils.params import load_params
from lineage_utils.publish import rank_views
from lineage_utils.run_folder import Run
from lineage_utils.testing.slack_blockkit import block_errors
from lineage_utils.testing.slack_standin import SlackStandin
from tests.conftest import DEMO_PARAMS, demo_overrides

pytestmark = pytest.mark.slow
WEBHOOK_ENV, TOKEN_ENV = "MP_TEST_SLACK_WEBHOOK", "MP_TEST_SLACK_TOKEN"


def chain(demo_target, runs, run_id: str, *extra: str) -> Run:
    params = load_params(DEMO_PARAMS, demo_overrides(demo_target, runs) + list(extra))
    run = Run(run_dir=runs / run_id, params=params)
    run.data_dir.mkdir(parents=True)
    for stage in stages.STAGES:
        stages.RUNNERS[stage](run)
    return run


def test_rank_shows_ranking_priority_path_and_trends_and_each_run_adds_one_history_row(demo_target, tmp_path,
                                                                                        demo_expected):
    runs = tmp_path / "runs"
    first = chain(demo_target, runs, "20261201T080000Z")
    result = stages.rank(first)  # again in the same folder: the run's row is replaced, not added
    orphans = set(demo_expected["orphan_models"])
    models = result.centrality[result.centrality["kind"] == "model"]
    assert not set(models.head(max(1, len(models) // 10))["node_id"]) & orphans  # never in the top decile
    assert (models[models["node_id"].isin(orphans)]["importance"] == 0).all()
    assert "priority = importance" in rank_views.priority(result).markup
    assert result.critical.nodes and "summed runtime" in rank_views.critical_path(result).markup
    charts = rank_views.trend_charts(result, first).markup
    assert charts.count("<img") == 4
    before = set(read_trends(first.params.history_path).runs["run_id"])
    second = chain(demo_target, runs, "20261201T090000Z")
    after = set(read_trends(second.params.history_path).runs["run_id"])
    assert after - before == {"20261201T090000Z"} and "20261201T080000Z" in before


def test_the_slack_standin_gets_one_well_formed_message_and_the_chart(demo_target, tmp_path, monkeypatch):
    with SlackStandin() as slack:
        monkeypatch.setenv(WEBHOOK_ENV, slack.webhook_url)
        monkeypatch.setenv(TOKEN_ENV, slack.token)
        run = chain(demo_target, tmp_path / "runs", "20261201T100000Z", "slack.post=true",
                    f"slack.webhook_env={WEBHOOK_ENV}", f"slack.token_env={TOKEN_ENV}", "slack.channel=C0STANDIN",
                    f"slack.api_url={slack.api_url}", "publish.base_url=https://reports.example.com/mp")
        delivery = stages.notify(run)
        assert len(slack.messages) == 1 and block_errors(slack.messages[0]["blocks"]) == []
        text = json.dumps(slack.messages[0])
        assert "https://reports.example.com/mp/20261201T100000Z/index.html" in text
        assert "fct_legacy_coupons" in text  # a new orphan on the first run
        assert slack.webhook_url not in text and slack.token not in text
        assert delivery.upload is not None and len(slack.files) == 1
        assert json.loads((run.data_dir / "slack_message.json").read_text()) == slack.messages[0]


def test_a_dry_run_writes_the_message_and_sends_nothing(demo_target, tmp_path):
    with SlackStandin() as slack:
        run = chain(demo_target, tmp_path / "runs", "20261201T110000Z")
        delivery = stages.notify(run)
        assert slack.messages == [] and delivery.posted is None
        assert json.loads((run.data_dir / "slack_message.json").read_text())["blocks"]
