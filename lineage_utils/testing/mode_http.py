"""The HTTP side of the Mode stand-in: one request handler and the request log record.

``ModeHandler`` checks HTTP basic auth, applies scripted faults (dropped connections,
statuses) and the per-user rate limit (429 with ``Retry-After``), then asks the
stand-in's ``respond`` for the documented answer and sends it as HAL JSON.

Faults of the body: ``body`` sends a 200 with another body (empty, not JSON, or the
answer's first half: truncated JSON with a matching ``Content-Length``); ``cut``
announces the whole answer's ``Content-Length``, sends half of it and closes the
connection (the client sees IncompleteRead). With ``standin.echo_headers`` every error
body echoes what a leaky host would: the request headers (``Authorization`` in
base64), the decoded credentials and a login URL carrying them URL-encoded.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

from lineage_utils.testing.loopback import LoopbackHandler



@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int  # 0: the connection was dropped


def error(status: int, ident: str, message: str) -> tuple[int, Any]:
    return status, {"id": ident, "message": message}


class ModeHandler(LoopbackHandler):
    """One request: auth, scripted faults, the rate limit, then ``standin.respond``."""

    def _user(self) -> str | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        standin = self.standin
        ok = secrets.compare_digest(user, standin.token) and secrets.compare_digest(password, standin.secret)
        return user if ok else None

    def _echo(self) -> str:
        """What a leaky host puts in an error body: every form the credentials took."""
        header = self.headers.get("Authorization", "")
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        login = f"/login?user={quote(user, safe='')}&password={quote_plus(password)}&p={quote(password)}"
        return json.dumps({"authorization": header, "user": user, "password": password, "login_url": login,
                           "headers": dict(self.headers.items())})

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
              fault: Any = None) -> None:
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        length = len(data)
        if fault is not None and fault.kind == "body":
            data = data[: len(data) // 2] if fault.body is None else fault.body
            length = len(data)
        elif fault is not None and fault.kind == "cut":
            data = data[: len(data) // 2]
            self.close_connection = True
        limit = {"X-RateLimit-Limit": str(self.standin.rate_limit)} if self.standin.rate_limit else {}
        self.write_response(status, data, "application/hal+json; charset=utf-8", {**limit, **(headers or {})},
                            length=length)

    def _handle(self) -> None:
        standin = self.standin
        split = urlsplit(self.path)

        def record(status: int) -> None:
            standin.log.append(LoggedRequest(self.command, split.path, split.query, status))

        if int(self.headers.get("Content-Length") or 0):
            self.rfile.read(int(self.headers["Content-Length"]))
        if standin.latency:
            time.sleep(standin.latency)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        fault = standin._take_fault(split.path)
        with standin._lock:
            if fault is not None and fault.kind == "drop":
                record(0)
                self.close_connection = True
                return
        user = self._user()
        if user is None:
            status, body, headers = 401, {"id": "unauthorized", "message": "bad API token or secret"}, {}
        elif (wait := standin._rate_wait(user)) > 0:
            status, body = error(429, "rate_limited", "too many requests")
            headers = {"Retry-After": str(math.ceil(wait))} if standin.rate_limit_retry_after else {}
        elif fault is not None and fault.kind == "status":
            ident = {429: "rate_limited", 503: "service_unavailable"}.get(fault.status, "internal_server_error")
            status, body = error(fault.status, ident, "scripted fault")
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        else:
            status, body = standin.respond(self.command, split.path, query)
            headers = {}
        if status >= 400 and standin.echo_headers and isinstance(body, dict):
            body = {**body, "message": f"{body.get('message', '')}; request was: {self._echo()}"}
        body_fault = fault if fault is not None and fault.kind in ("body", "cut") and status < 400 else None
        with standin._lock:
            record(0 if body_fault is not None and body_fault.kind == "cut" else status)
        self._send(status, body, headers, body_fault)

    do_GET = do_PATCH = do_DELETE = _handle
