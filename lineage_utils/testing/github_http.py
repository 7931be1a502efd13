"""The HTTP side of the GitHub stand-in: one request handler and the request log record.

``GitHubHandler`` reads the request (headers, JSON body), records it, applies scripted
faults (a dropped connection, a status, a rate limit, a broken 2xx body), checks the
token (``Authorization: Bearer <t>`` or ``token <t>``, as GitHub accepts), applies the
primary and secondary rate limits, then asks the stand-in's ``respond`` for the
documented answer. Every response carries ``X-RateLimit-Limit/Remaining/Reset/Used``
and ``X-GitHub-Api-Version-Selected``. With ``standin.echo_headers`` every error body
echoes the request's ``Authorization`` in its ``message`` and all its headers, as a
leaky proxy would.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lineage_utils.testing.loopback import LoopbackHandler


DOCS = "https://docs.github.com/rest"


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the stand-in saw it; ``status`` 0: the connection was dropped."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def error(status: int, message: str, docs: str = DOCS, **extra: Any) -> tuple[int, Any]:
    return status, {"message": message, **extra, "documentation_url": docs}


class GitHubHandler(LoopbackHandler):
    """One request: log, faults, auth, rate limits, then ``standin.respond``."""

    def _authorised(self) -> bool | None:
        """True for the stand-in's token, False for another, None when none was sent."""
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            return None
        return scheme.lower() in ("bearer", "token") and secrets.compare_digest(token.strip(), self.standin.token)

    def _send(self, status: int, body: Any, headers: dict[str, str], raw: bytes | None = None) -> None:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode("utf-8"))
        self.write_response(status, data, "application/json; charset=utf-8",
                            {"X-GitHub-Api-Version-Selected": "2022-11-28", **headers})

    def _handle(self) -> None:
        standin = self.standin
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw_body) if raw_body.strip() else None
        except ValueError:
            body = raw_body.decode("utf-8", "replace")
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        path = split.path
        if standin.api_prefix and path.startswith(standin.api_prefix + "/"):
            path = path[len(standin.api_prefix):]
        elif standin.api_prefix:
            path = "/-outside-the-api-prefix" + path  # answered 404 Not Found
        request = dict(method=self.command, path=path, query=query, headers=dict(self.headers.items()), body=body)
        fault = standin._take_fault(self.command, path)
        if fault is not None and fault.kind == "drop":
            standin._record(LoggedRequest(**request, status=0))
            self.close_connection = True
            return
        authorised = self._authorised()
        extra: dict[str, str] = {}
        raw: bytes | None = None
        if authorised is None and path != "/rate_limit":
            status, answer = error(401, "Requires authentication")
        elif authorised is False:
            status, answer = error(401, "Bad credentials")
        elif fault is not None and fault.kind == "status":
            status, answer = error(fault.status, "scripted fault")
            extra = fault.headers
        elif fault is not None and fault.kind == "primary":
            status, answer, extra = standin._primary_exhausted(fault.status, fault.reset_in)
        elif fault is not None and fault.kind == "secondary":
            status, answer, extra = standin._secondary_limited(fault.status, fault.retry_after)
        elif (limited := standin._rate_limit(self.command)) is not None:
            status, answer, extra = limited
        else:
            status, answer, extra = standin.respond(self.command, path, query, body)
            if fault is not None and fault.kind == "body" and status < 300:
                raw = fault.body
        if status >= 400 and standin.echo_headers and isinstance(answer, dict):
            answer = {**answer, "message": f"{answer.get('message', '')}; request had Authorization: "
                                           f"{self.headers.get('Authorization', '')}",
                      "request_headers": dict(self.headers.items())}
        standin._record(LoggedRequest(**request, status=status))
        self._send(status, answer, {**standin._rate_headers(), **extra}, raw)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle
