"""The HTTP side of the Slack stand-in: one request handler, the request log record, an answer.

``SlackHandler`` reads the request, works out which of Slack's surfaces it is for
(``webhook``: ``/services/...``; ``api``: ``/api/<method>``; ``upload``: the
``/upload/v1/<id>`` URLs ``files.getUploadURLExternal`` hands out; else ``other``),
applies a scripted fault (a dropped connection or a status), else asks the stand-in
for the documented answer, records the request with what it was answered, and writes
the response. Its DEBUG log lines show the webhook's secret as ``***``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lineage_utils.testing.loopback import LoopbackHandler

__all__ = ["Answer", "SlackHandler", "SlackRequest", "api_answer", "text_answer"]


@dataclass(frozen=True)
class SlackRequest:
    """One request as the stand-in saw it; ``status`` 0: the connection was dropped.

    ``payload`` is the parsed body (a webhook's JSON, an API call's arguments);
    ``error`` Slack's error code when it was refused; ``block_errors`` what was wrong
    with the blocks (Slack's ``json-pointer`` form).
    """

    kind: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    payload: Any = None
    status: int = 0
    error: str = ""
    block_errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    status: int
    data: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    payload: Any = None
    error: str = ""
    block_errors: tuple[str, ...] = ()


def text_answer(status: int, text: str, headers: dict[str, str] | None = None, **extra: Any) -> Answer:
    """A webhook or upload answer: plain text (``ok``, ``invalid_payload``, ...)."""
    error = "" if status < 300 else text
    return Answer(status, text.encode("utf-8"), "text/html", headers or {}, error=error, **extra)


def api_answer(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None,
               **extra: Any) -> Answer:
    """A Web API answer: JSON with ``ok`` (HTTP 200 for most errors, as Slack does)."""
    error = "" if body.get("ok") else str(body.get("error", ""))
    return Answer(status, json.dumps(body).encode("utf-8"), "application/json; charset=utf-8",
                  {"X-Slack-Req-Id": "standin", **(headers or {})}, error=error, **extra)


class SlackHandler(LoopbackHandler):
    """One request: kind, fault, ``standin.respond``, log, response."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        secret = self.standin.webhook_secret  # the request line names the webhook URL: keep its secret out
        super().log_message(format, *(a.replace(secret, "***") if isinstance(a, str) else a for a in args))

    def _handle(self) -> None:
        standin = self.standin
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        kind = standin.kind_of(split.path)
        headers = dict(self.headers.items())
        fault = standin._take_fault(kind, split.path)
        if fault is not None and fault.kind == "drop":
            standin._record(SlackRequest(kind, self.command, split.path, headers, raw, status=0))
            self.close_connection = True
            return
        if fault is not None:
            answer = standin._fault_answer(kind, fault)
        else:
            answer = standin.respond(kind, self.command, split.path, split.query,
                                     self.headers.get("Content-Type", ""), headers, raw)
        standin._record(SlackRequest(kind, self.command, split.path, headers, raw, answer.payload, answer.status,
                                     answer.error, answer.block_errors))
        self.write_response(answer.status, answer.data, answer.content_type, answer.headers)

    do_GET = do_POST = do_PUT = _handle
