"""The Slack message: inert outside text, deltas, Block Kit limits; delivery through real slack_sdk over loopback."""

from __future__ import annotations

import json
import logging
import re
import time

import pytest

from lineage_utils.publish import slack_message
from lineage_utils.publish.slack import (SlackError, SlackSummary, build_message, count_deltas, deliver,
                                         mrkdwn_escape, post_message, upload_chart, write_message)
from lineage_utils.testing import payloads
from lineage_utils.testing.slack_blockkit import block_errors
from lineage_utils.testing.slack_standin import SlackStandin

TOKEN = "standin-slack-publish-token-3c9d"
CHANNEL = "C0STANDIN"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
FAST = {"backoff": 0}


@pytest.fixture
def slack_standin():
    with SlackStandin(TOKEN) as standin:
        yield standin


def summary(**fields):
    values = {"run_id": "20260101T000000Z", "link": "https://reports.example/runs/20260101T000000Z/index.html",
              "counts": {"models": 120, "orphans": 7, "stale_reports": 5},
              "previous": {"models": 117, "orphans": 9, "stale_reports": 5},
              "top_candidates": [("fct_orders", 0.93, 12.34)], "new_orphans": ["stg_old"],
              "new_stale_reports": ["Weekly revenue"], **fields}
    return SlackSummary(**values)


def texts(payload):
    """Every text a reader may see: the fallback and each text object, field and context element."""
    found = [payload["text"]]
    for block in payload["blocks"]:
        found += [block[k]["text"] for k in ("text",) if k in block]
        found += [f["text"] for f in block.get("fields", [])] + [e["text"] for e in block.get("elements", [])]
    return found


def hostile_summary():
    names = list(payloads.NAMES)
    return summary(top_candidates=[(n, 0.5, 1.0) for n in names], new_orphans=names, new_stale_reports=names,
                   link="https://reports.example/runs/x/index.html")


# -- escaping ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", payloads.NAMES)
def test_a_hostile_name_is_one_inert_code_span(name):
    out = mrkdwn_escape(name)
    assert out.startswith("`") and out.endswith("`") and out.count("`") == 2
    inner = out[1:-1]
    assert "<" not in inner and ">" not in inner and "\n" not in inner
    assert re.fullmatch(r"(?:[^&]|&(?:amp|lt|gt);)*", inner)
    assert inner.isprintable()
    assert len(inner) <= slack_message.NAME_LIMIT * 5 + 8


@pytest.mark.parametrize("name, expected", [
    ("<!channel>", "`&lt;!channel&gt;`"),
    ("<!here|here>", "`&lt;!here|here&gt;`"),
    ("<https://x.example|click me>", "`&lt;https://x.example|click me&gt;`"),
    ("*bold* _it_ ~strike~", "`*bold* _it_ ~strike~`"),
    ("@at %percent `tick`", "`@at %percent ˋtickˋ`"),
    ("a & b", "`a &amp; b`"),
    ("&lt;script&gt;", "`&amp;lt;script&amp;gt;`"),
    ("admin\u202etxt.exe", "`admin&lt;U+202E&gt;txt.exe`"),
    ("line one\nline two", "`line one line two`"),
    ("", "_(unnamed)_"),
    ("  \n ", "_(unnamed)_"),
])
def test_mrkdwn_escape(name, expected):
    assert mrkdwn_escape(name) == expected


def test_a_long_name_is_cut_before_escaping():
    assert mrkdwn_escape(payloads.LONG) == "`" + "A" * (slack_message.NAME_LIMIT - 3) + "...`"
    assert mrkdwn_escape("<" * 500).count("&lt;") == slack_message.NAME_LIMIT - 3


def test_no_hostile_name_escapes_into_the_message():
    payload = build_message(hostile_summary())
    for text in texts(payload):
        assert "<!" not in text and "<http://" not in text and "<script" not in text.lower()
        assert "\u202e" not in text and "\x00" not in text
    assert all(link == "<https://reports.example/runs/x/index.html|Open the run report>"
               for link in re.findall(r"<[^&]*?>", json.dumps(payload["blocks"], ensure_ascii=False)))


def test_the_fallback_text_names_no_outside_text():
    fallback = build_message(hostile_summary())["text"]
    assert all(name not in fallback for name in ("stg_old", "<!channel>", "Weekly"))
    assert "models 120 (+3)" in fallback and "orphans 7 (-2)" in fallback and "<https://reports.example" in fallback


def test_the_hostile_message_is_valid_block_kit_within_limits():
    payload = build_message(hostile_summary())
    assert block_errors(payload["blocks"]) == []
    assert len(payload["blocks"]) <= 50
    assert all(len(t) <= 3000 for t in texts(payload))


def test_long_lists_end_in_and_n_more_inside_3000_characters():
    names = [f"<{'&' * 79}" for _ in range(500)]
    payload = build_message(summary(new_orphans=names))
    orphans = next(t for t in texts(payload) if t.startswith("*New orphans"))
    assert orphans.startswith("*New orphans (500)*") and re.search(r"\.\.\. and \d+ more$", orphans)
    assert len(orphans) <= 3000 and block_errors(payload["blocks"]) == []


def test_a_hostile_or_local_link_is_never_a_slack_link():
    for link in (*payloads.URLS[:5], "/work/runs/x/index.html", "https://x.example/a b"):
        block = build_message(summary(link=link))["blocks"][1]["text"]["text"]
        assert block.startswith("Run report: `") and "<" not in block


def test_a_web_link_cannot_be_cut_short_by_pipes_or_brackets():
    block = build_message(summary(link="https://x.example/r|evil>x?a=1&b=2"))["blocks"][1]["text"]["text"]
    assert block == "<https://x.example/r%7Cevil%3Ex?a=1&amp;b=2|Open the run report>"


def test_the_header_is_plain_text_within_150_characters():
    header = build_message(summary(run_id="r" * 500 + "\u202e"))["blocks"][0]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert len(header["text"]["text"]) <= 150


# -- content ---------------------------------------------------------------------------------------
def test_count_deltas():
    deltas = count_deltas({"models": 10, "orphans": 3, "new_kind": 1, "rate": 0.5, "odd": "x"},
                          {"models": 8, "orphans": 3, "rate": 0.75, "odd": 1, "gone": 4})
    assert [(d.name, d.value, d.delta, d.is_new) for d in deltas] == [
        ("models", 10, 2, False), ("orphans", 3, 0, False), ("new_kind", 1, None, True), ("rate", 0.5, -0.25, False),
        ("odd", "x", None, False)]


def test_a_first_run_has_no_deltas():
    assert all(d.delta is None and not d.is_new for d in count_deltas({"models": 3}, None))
    payload = build_message(summary(previous=None))
    assert "*models*\n120" in texts(payload) and "First run: no previous run to compare with." in texts(payload)


def test_counts_show_their_change_since_the_last_run():
    fields = [t for t in texts(build_message(summary(counts={"models": 120, "orphans": 7, "stale_reports": 5,
                                                             "exposures": 2})))
              if t.startswith("*")]
    assert fields[:4] == ["*models*\n120 (+3)", "*orphans*\n7 (-2)", "*stale reports*\n5 (no change)",
                          "*exposures*\n2 (new)"]


def test_only_the_top_five_candidates_are_shown_in_the_given_order():
    candidates = [(f"model_{i}", 1 - i / 10, i * 1.5) for i in range(8)]
    top = next(t for t in texts(build_message(summary(top_candidates=candidates))) if t.startswith("*Top"))
    assert top.splitlines()[1:] == [f"{i + 1}. `model_{i}`: priority {1 - i / 10:.2f}, runtime {i * 1.5:.1f} s"
                                    for i in range(5)]


def test_empty_lists_say_none():
    payload = build_message(summary(top_candidates=[], new_orphans=[], new_stale_reports=[]))
    assert {"*Top optimisation candidates*: none", "*New orphans (0)*: none",
            "*New stale reports (0)*: none"} <= set(texts(payload))


def test_the_summary_is_frozen_and_keeps_its_own_copies():
    counts = {"models": 1}
    frozen = summary(counts=counts)
    counts["models"] = 99
    assert frozen.counts["models"] == 1
    with pytest.raises(AttributeError):
        frozen.run_id = "other"  # type: ignore[misc]


def test_build_message_is_deterministic():
    assert build_message(hostile_summary()) == build_message(hostile_summary())


# -- the dry run ------------------------------------------------------------------------------------
def test_write_message_writes_the_json_atomically(tmp_path):
    payload = build_message(hostile_summary())
    path = write_message(tmp_path / "data", payload)
    assert path == tmp_path / "data" / "slack_message.json"
    assert json.loads(path.read_text(encoding="utf-8")) == payload
    assert [p.name for p in path.parent.iterdir()] == ["slack_message.json"]


def test_a_dry_run_sends_nothing(slack_standin, tmp_path, monkeypatch):
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_standin.webhook_url)
    result = deliver(build_message(summary()), tmp_path, post=False, webhook_env="SLACK_WEBHOOK_URL")
    assert result.message_path.exists() and result.posted is None and slack_standin.log == []


# -- the webhook through slack_sdk -------------------------------------------------------------------
def test_post_message_delivers_the_payload(slack_standin):
    payload = build_message(hostile_summary())
    result = post_message(payload, slack_standin.webhook_url, **FAST)
    assert (result.status, result.body) == (200, "ok")
    assert slack_standin.messages == [payload]
    assert slack_standin.webhook_secret not in result.endpoint


def test_a_429_waits_for_retry_after_then_succeeds(slack_standin):
    slack_standin.rate_limited(retry_after="1", target="webhook")
    start = time.monotonic()
    post_message(build_message(summary()), slack_standin.webhook_url, **FAST)
    assert time.monotonic() - start >= 1.0
    assert [r.status for r in slack_standin.requests_to("webhook")] == [429, 200]


def test_a_429_past_the_retries_is_an_error(slack_standin):
    slack_standin.rate_limited(times=5, retry_after="0", target="webhook")
    with pytest.raises(SlackError) as caught:
        post_message(build_message(summary()), slack_standin.webhook_url, max_retries=1, **FAST)
    assert (caught.value.status, caught.value.error, caught.value.retried) == (429, "rate_limited", True)
    assert len(slack_standin.requests_to("webhook")) == 2


def test_invalid_payload_is_an_error_and_not_retried(slack_standin):
    slack_standin.fail(400, target="webhook", error="invalid_payload")
    with pytest.raises(SlackError, match="HTTP 400 'invalid_payload'") as caught:
        post_message(build_message(summary()), slack_standin.webhook_url, **FAST)
    assert (caught.value.error, caught.value.retried) == ("invalid_payload", False)
    assert len(slack_standin.requests_to("webhook")) == 1


def test_blocks_the_stand_in_refuses_are_invalid_blocks(slack_standin):
    with pytest.raises(SlackError) as caught:
        post_message({"text": "t", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]},
                     slack_standin.webhook_url, **FAST)
    assert caught.value.error == "invalid_blocks"


@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_is_retried_then_succeeds(slack_standin, status):
    slack_standin.fail(status, target="webhook")
    post_message(build_message(summary()), slack_standin.webhook_url, **FAST)
    assert [r.status for r in slack_standin.requests_to("webhook")] == [status, 200]
    assert len(slack_standin.messages) == 1


def test_a_502_is_not_among_the_statuses_slack_sdk_retries(slack_standin):
    slack_standin.fail(502, target="webhook")
    with pytest.raises(SlackError) as caught:
        post_message(build_message(summary()), slack_standin.webhook_url, **FAST)
    assert caught.value.status == 502 and len(slack_standin.requests_to("webhook")) == 1


def test_a_dropped_connection_is_retried(slack_standin):
    slack_standin.drop_connections(target="webhook")
    post_message(build_message(summary()), slack_standin.webhook_url, **FAST)
    assert [r.status for r in slack_standin.requests_to("webhook")] == [0, 200]


def test_a_plain_http_webhook_off_loopback_is_refused_before_any_request():
    with pytest.raises(SlackError, match="must be https") as caught:
        post_message({"text": "t"}, "http://hooks.example/services/T/B/secretsecretsecret")
    assert "secretsecretsecret" not in str(caught.value) and "secretsecretsecret" not in caught.value.endpoint


# -- the chart upload through slack_sdk ----------------------------------------------------------------
def test_upload_chart_runs_files_upload_v2(slack_standin):
    result = upload_chart(PNG, TOKEN, CHANNEL, slack_standin.api_url, **FAST)
    steps = [(r.kind, r.path.rsplit("/", 1)[-1] if r.kind == "api" else "") for r in slack_standin.log]
    assert steps == [("api", "files.getUploadURLExternal"), ("upload", ""), ("api", "files.completeUploadExternal")]
    first = slack_standin.log[0]
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    assert first.payload["filename"] == "models_per_day.png" and first.payload["length"] == str(len(PNG))
    record = slack_standin.files[result.file_id]
    assert (record.data, record.channels, record.completed, record.title) == (PNG, [CHANNEL], True, "Models per day")
    assert result.channel == CHANNEL and result.title == "Models per day"


def test_a_rate_limited_upload_step_is_retried(slack_standin):
    slack_standin.rate_limited(retry_after="0", target="api", path_pattern="getUploadURLExternal")
    result = upload_chart(PNG, TOKEN, CHANNEL, slack_standin.api_url, **FAST)
    assert slack_standin.files[result.file_id].completed
    assert [r.status for r in slack_standin.requests_to("api", "getUploadURLExternal")] == [429, 200]


def test_a_wrong_token_names_the_method_never_the_token(slack_standin):
    with pytest.raises(SlackError) as caught:
        upload_chart(PNG, "standin-wrong-slack-token", CHANNEL, slack_standin.api_url, **FAST)
    assert caught.value.error == "invalid_auth" and "files.getUploadURLExternal" in str(caught.value)
    assert "standin-wrong-slack-token" not in str(caught.value)


def test_an_unknown_channel_fails_at_complete_upload(slack_standin):
    with pytest.raises(SlackError, match="files.completeUploadExternal") as caught:
        upload_chart(PNG, TOKEN, "C0ELSEWHERE", slack_standin.api_url, **FAST)
    assert caught.value.error == "channel_not_found"


def test_a_failing_upload_url_names_the_upload_step(slack_standin):
    slack_standin.fail(500, target="upload")
    with pytest.raises(SlackError, match="upload URL files.getUploadURLExternal returned"):
        upload_chart(PNG, TOKEN, CHANNEL, slack_standin.api_url, **FAST)


@pytest.mark.parametrize("token, channel, match", [("", CHANNEL, "bot token"), (TOKEN, "", "slack.channel")])
def test_upload_needs_a_token_and_a_channel(slack_standin, token, channel, match):
    with pytest.raises(SlackError, match=match):
        upload_chart(PNG, token, channel, slack_standin.api_url)
    assert slack_standin.log == []


# -- deliver, and no secret anywhere -------------------------------------------------------------------
def test_deliver_posts_and_uploads_with_secrets_from_the_environment(slack_standin, tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK", slack_standin.webhook_url)
    monkeypatch.setenv("BOT", TOKEN)
    result = deliver(build_message(summary()), tmp_path, post=True, webhook_env="HOOK", token_env="BOT",
                     channel=CHANNEL, api_url=slack_standin.api_url, chart_png=PNG, **FAST)
    assert result.posted is not None and result.upload is not None and result.notes == ()
    assert len(slack_standin.messages) == 1 and slack_standin.files[result.upload.file_id].completed


def test_deliver_without_a_token_posts_and_notes_the_missing_chart(slack_standin, tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK", slack_standin.webhook_url)
    monkeypatch.delenv("BOT", raising=False)
    result = deliver(build_message(summary()), tmp_path, post=True, webhook_env="HOOK", token_env="BOT",
                     channel=CHANNEL, chart_png=PNG, **FAST)
    assert result.posted is not None and result.upload is None
    assert result.notes == ("chart not uploaded: missing bot token (slack.token_env)",)


def test_deliver_notes_a_failed_upload_after_the_post(slack_standin, tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK", slack_standin.webhook_url)
    monkeypatch.setenv("BOT", TOKEN)
    result = deliver(build_message(summary()), tmp_path, post=True, webhook_env="HOOK", token_env="BOT",
                     channel="C0ELSEWHERE", api_url=slack_standin.api_url, chart_png=PNG, **FAST)
    assert result.posted is not None and "channel_not_found" in result.notes[0]


def test_deliver_names_an_unset_webhook_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_HOOK", raising=False)
    with pytest.raises(SlackError, match="'NO_SUCH_HOOK'.*slack.webhook_env"):
        deliver({"text": "t"}, tmp_path, post=True, webhook_env="NO_SUCH_HOOK")
    assert (tmp_path / "slack_message.json").exists()


def test_no_secret_in_any_error_log_or_file(slack_standin, tmp_path, monkeypatch, caplog):
    hook, secret = slack_standin.webhook_url, slack_standin.webhook_secret
    monkeypatch.setenv("HOOK", hook)
    monkeypatch.setenv("BOT", TOKEN)
    errors: list[SlackError] = []
    with caplog.at_level(logging.DEBUG, logger="lineage_utils"):  # run_all.main may have set it to INFO
        for fault in ({"status": 400, "error": "invalid_payload"}, {"status": 404}, {"status": 503, "times": 2}):
            slack_standin.fail(target="webhook", **fault)
            with pytest.raises(SlackError) as caught:
                post_message(build_message(summary()), hook, secrets=(TOKEN,), max_retries=1, **FAST)
            errors.append(caught.value)
        with pytest.raises(SlackError) as caught:  # a wrong path: the secret is in the URL as sent
            post_message({"text": "t"}, hook + "x", **FAST)
        errors.append(caught.value)
        closed = SlackStandin().start()
        dead = closed.base_url + slack_standin.webhook_path
        closed.stop()
        with pytest.raises(SlackError) as caught:
            post_message({"text": "t"}, dead, **FAST)
        errors.append(caught.value)
        slack_standin.fail(500, times=2, target="api")
        with pytest.raises(SlackError) as caught:
            upload_chart(PNG, TOKEN, CHANNEL, slack_standin.api_url, secrets=(hook,), max_retries=1, **FAST)
        errors.append(caught.value)
        deliver(build_message(summary()), tmp_path, post=True, webhook_env="HOOK", token_env="BOT", channel=CHANNEL,
                api_url=slack_standin.api_url, chart_png=PNG, **FAST)
    assert "Sending a request" in caplog.text  # slack_sdk's debug lines were there to leak
    for value in (secret, TOKEN, hook):
        assert value not in caplog.text
        for error in errors:
            assert value not in str(error) and value not in error.endpoint and value not in repr(error.args)
        assert all(value not in p.read_text(encoding="utf-8") for p in tmp_path.rglob("*") if p.is_file())
