"""The Slack stand-in serves Slack's documented webhook and Web API answers over real HTTP on loopback."""

from __future__ import annotations

import json
import logging

import pytest
import requests

from lineage_utils.testing.slack_blockkit import block_errors
from lineage_utils.testing.slack_standin import SlackStandin

TOKEN = "standin-slack-test-token-8e2b"
CHANNEL = "C0STANDIN"


@pytest.fixture
def slack_standin():
    with SlackStandin(TOKEN) as standin:
        yield standin


def post_hook(standin, payload=None, *, data=None, url=None, headers=None):
    if data is None:
        data = json.dumps(payload).encode("utf-8")
        headers = {"Content-Type": "application/json", **(headers or {})}
    return requests.post(url or standin.webhook_url, data=data, headers=headers or {}, timeout=5)


def api(standin, method, token=TOKEN, **args):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(standin.api_url + method, data=args, headers=headers, timeout=5)


def section(text):
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_binds_an_ephemeral_loopback_port(slack_standin):
    assert slack_standin.base_url.startswith("http://127.0.0.1:") and not slack_standin.base_url.endswith(":0")
    assert slack_standin.webhook_url.startswith(slack_standin.base_url + "/services/")


def test_webhook_accepts_block_kit_and_records_it(slack_standin):
    payload = {"text": "fallback", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "Hi"}},
                                              section("*bold*"), {"type": "divider"},
                                              {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}]}]}
    response = post_hook(slack_standin, payload)
    assert (response.status_code, response.text) == (200, "ok")
    assert slack_standin.messages == [payload]
    assert slack_standin.log[-1].kind == "webhook" and slack_standin.log[-1].status == 200


def test_webhook_takes_a_form_payload_field(slack_standin):
    response = post_hook(slack_standin, data={"payload": json.dumps({"text": "from a form"})})
    assert response.status_code == 200 and slack_standin.messages == [{"text": "from a form"}]


@pytest.mark.parametrize("data", [b"{not json", b"[1, 2]", json.dumps({"text": 7}).encode()])
def test_unreadable_or_misshapen_bodies_are_400_invalid_payload(slack_standin, data):
    response = post_hook(slack_standin, data=data, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.text) == (400, "invalid_payload")
    assert slack_standin.messages == []


def test_neither_text_nor_blocks_is_400_no_text(slack_standin):
    response = post_hook(slack_standin, {"username": "bot"})
    assert (response.status_code, response.text) == (400, "no_text")


@pytest.mark.parametrize("blocks, pointer", [
    ([section("x" * 3001)], "/blocks/0/text/text"),
    ([section("")], "/blocks/0/text/text"),
    ([{"type": "section"}], "/blocks/0"),
    ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "/blocks/0/text/type"),
    ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "/blocks/0/text/text"),
    ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "/blocks/0/fields"),
    ([{"type": "bogus"}], "/blocks/0/type"),
    ([{"type": "divider", "colour": "red"}], "/blocks/0/colour"),
    ([section("a"), {"type": "section", "text": "plain string"}], "/blocks/1/text"),
    ([section("a")] * 51, "/blocks"),
    ({"type": "section"}, "/blocks"),
])
def test_blocks_that_break_block_kit_are_400_invalid_blocks(slack_standin, blocks, pointer):
    response = post_hook(slack_standin, {"text": "t", "blocks": blocks})
    assert (response.status_code, response.text) == (400, "invalid_blocks")
    assert any(f"[json-pointer:{pointer}]" in e for e in slack_standin.log[-1].block_errors)
    assert slack_standin.messages == []


def test_block_kit_limits_are_inclusive():
    assert block_errors([section("x" * 3000)] * 50) == []


def test_another_webhook_path_is_404_no_service(slack_standin):
    response = post_hook(slack_standin, {"text": "t"}, url=slack_standin.base_url + "/services/T0/B0/revoked")
    assert (response.status_code, response.text) == (404, "no_service")


def test_posts_closer_than_the_interval_get_429_with_retry_after():
    with SlackStandin(TOKEN, webhook_interval=30) as standin:
        assert post_hook(standin, {"text": "one"}).status_code == 200
        response = post_hook(standin, {"text": "two"})
    assert response.status_code == 429 and 1 <= int(response.headers["Retry-After"]) <= 30


def test_scripted_failures_answer_slacks_error_for_the_surface(slack_standin):
    slack_standin.rate_limited(retry_after="3", target="webhook")
    slack_standin.fail(503, target="api")
    hook = post_hook(slack_standin, {"text": "t"})
    assert (hook.status_code, hook.text, hook.headers["Retry-After"]) == (429, "rate_limited", "3")
    call = api(slack_standin, "files.getUploadURLExternal", filename="a.png", length="3")
    assert call.status_code == 503 and call.json() == {"ok": False, "error": "internal_error"}
    assert post_hook(slack_standin, {"text": "t"}).status_code == 200  # faults are used up


def test_a_scripted_api_429_is_json_ratelimited(slack_standin):
    slack_standin.rate_limited(retry_after="0", target="api")
    call = api(slack_standin, "files.getUploadURLExternal", filename="a.png", length="3")
    assert (call.status_code, call.json(), call.headers["Retry-After"]) == (429, {"ok": False, "error": "ratelimited"},
                                                                          "0")


def test_a_dropped_connection_gets_no_response(slack_standin):
    slack_standin.drop_connections(target="webhook")
    with pytest.raises(requests.ConnectionError):
        post_hook(slack_standin, {"text": "t"})
    assert slack_standin.log[-1].status == 0
    assert post_hook(slack_standin, {"text": "t"}).status_code == 200


@pytest.mark.parametrize("token, error", [(None, "not_authed"), ("standin-wrong", "invalid_auth")])
def test_web_api_auth_errors_are_200_ok_false(slack_standin, token, error):
    call = api(slack_standin, "files.getUploadURLExternal", token=token, filename="a.png", length="3")
    assert call.status_code == 200 and call.json() == {"ok": False, "error": error}


def test_the_token_may_be_a_post_argument(slack_standin):
    call = requests.post(slack_standin.api_url + "files.getUploadURLExternal",
                         data={"token": TOKEN, "filename": "a.png", "length": "3"}, timeout=5)
    assert call.json()["ok"] is True
    assert "token" not in slack_standin.log[-1].payload


def test_unknown_methods_are_unknown_method(slack_standin):
    assert api(slack_standin, "chat.postMessage", channel=CHANNEL, text="t").json()["error"] == "unknown_method"


@pytest.mark.parametrize("args", [{"length": "3"}, {"filename": "a.png"}, {"filename": "a.png", "length": "0"},
                                  {"filename": "a.png", "length": "x"}])
def test_get_upload_url_needs_a_filename_and_a_length(slack_standin, args):
    assert api(slack_standin, "files.getUploadURLExternal", **args).json() == {"ok": False,
                                                                               "error": "invalid_arguments"}


def test_the_upload_v2_flow_shares_the_bytes_in_the_channel(slack_standin):
    issued = api(slack_standin, "files.getUploadURLExternal", filename="chart.png", length="4").json()
    assert issued["ok"] and issued["upload_url"].startswith(slack_standin.base_url + "/upload/v1/")
    uploaded = requests.post(issued["upload_url"], data=b"\x89PNG", timeout=5)
    assert (uploaded.status_code, uploaded.text) == (200, "OK - 4")
    done = api(slack_standin, "files.completeUploadExternal", channel_id=CHANNEL,
               files=json.dumps([{"id": issued["file_id"], "title": "Chart"}])).json()
    assert done["ok"] and done["files"][0]["id"] == issued["file_id"] and done["files"][0]["title"] == "Chart"
    record = slack_standin.files[issued["file_id"]]
    assert (record.data, record.channels, record.completed) == (b"\x89PNG", [CHANNEL], True)


def test_completing_before_the_upload_is_file_not_found(slack_standin):
    issued = api(slack_standin, "files.getUploadURLExternal", filename="chart.png", length="4").json()
    done = api(slack_standin, "files.completeUploadExternal", channel_id=CHANNEL,
               files=json.dumps([{"id": issued["file_id"]}])).json()
    assert done == {"ok": False, "error": "file_not_found"}


@pytest.mark.parametrize("args, error", [({"channel_id": "C0ELSEWHERE"}, "channel_not_found"),
                                         ({"files": "not json"}, "invalid_arguments"),
                                         ({"files": "[]"}, "invalid_arguments")])
def test_complete_upload_checks_its_arguments(slack_standin, args, error):
    issued = api(slack_standin, "files.getUploadURLExternal", filename="chart.png", length="1").json()
    requests.post(issued["upload_url"], data=b"x", timeout=5)
    arguments = {"channel_id": CHANNEL, "files": json.dumps([{"id": issued["file_id"]}]), **args}
    assert api(slack_standin, "files.completeUploadExternal", **arguments).json() == {"ok": False, "error": error}


def test_an_unknown_upload_url_is_404(slack_standin):
    assert requests.post(slack_standin.base_url + "/upload/v1/nope", data=b"x", timeout=5).status_code == 404


def test_its_log_lines_hide_the_webhook_secret(slack_standin, caplog):
    with caplog.at_level(logging.DEBUG, logger="lineage_utils.testing"):
        post_hook(slack_standin, {"text": "t"})
    assert "/services/" in caplog.text and slack_standin.webhook_secret not in caplog.text
