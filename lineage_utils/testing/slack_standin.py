"""A local stand-in for Slack's incoming webhooks and Web API file uploads, over real HTTP on loopback.

Built from Slack's documentation, not from what the client expects:

* the incoming webhook ``POST /services/T.../B.../<secret>`` takes JSON
  (``Content-Type: application/json``) or a form with a ``payload`` field and answers
  ``200 ok`` as text; an unreadable body, or one that is not an object or whose
  ``text`` is not a string, is ``400 invalid_payload``; neither ``text`` nor ``blocks``
  (nor ``attachments``) is ``400 no_text``; blocks that break Block Kit's shape
  (:mod:`slack_blockkit`) are ``400 invalid_blocks``; another path is ``404 no_service``;
  posts closer together than ``webhook_interval`` seconds get ``429`` with
  ``Retry-After``;
* the Web API ``/api/<method>`` takes the token as ``Authorization: Bearer`` or a
  ``token`` argument (form, JSON or query) and answers HTTP 200 with ``{"ok": ...}``:
  ``not_authed`` without a token, ``invalid_auth`` for another, ``unknown_method``;
  ``files.getUploadURLExternal`` (``filename``, ``length`` > 0; else
  ``invalid_arguments``) returns an ``upload_url`` on this server and a ``file_id``;
  the upload URL takes the bytes (raw or multipart) and answers ``200 OK - <length>``
  (404 for an unknown URL); ``files.completeUploadExternal`` (``files``: a JSON array
  of ``{"id", "title"}``; ``channel_id`` or ``channels``) shares the files:
  ``invalid_arguments``, ``file_not_found`` for an id not issued or not uploaded,
  ``channel_not_found`` for a channel not in ``channels``.

Faults are scripted per test: ``fail`` (a status with Slack's error for it and an
optional ``Retry-After``: a webhook answers the code as text, the Web API as
``{"ok": false, "error": ...}``) and ``drop_connections``. ``messages`` (accepted
webhook payloads), ``files`` and ``log`` (every request with its answer) are there to
inspect.
"""

from __future__ import annotations

import copy
import json
import math
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from lineage_utils.testing.loopback import LoopbackServer
from lineage_utils.testing.slack_blockkit import block_errors
from lineage_utils.testing.slack_http import Answer, SlackHandler, SlackRequest, api_answer, text_answer

__all__ = ["SlackStandin", "SlackRequest", "StandinFile"]

WEBHOOK_ERRORS = {400: "invalid_payload", 403: "action_prohibited", 404: "no_service", 410: "channel_is_archived",
                  429: "rate_limited", 500: "rollup_error"}
API_ERRORS = {429: "ratelimited"}
PERMALINK = "https://standin.slack.com/files/U0STANDIN"


@dataclass
class StandinFile:
    """A file ``files.getUploadURLExternal`` issued; ``data`` once uploaded, ``channels`` once completed."""

    file_id: str
    filename: str
    length: int
    alt_txt: str | None
    upload_id: str
    data: bytes | None = None
    title: str | None = None
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    completed: bool = False


@dataclass
class _Fault:
    kind: str  # "status" or "drop"
    target: str | None  # webhook, api, upload or None (any)
    pattern: re.Pattern[str]
    remaining: int
    status: int = 500
    error: str | None = None
    retry_after: str | None = None


def _form(raw: bytes) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}


class SlackStandin(LoopbackServer):
    """A Slack stand-in on 127.0.0.1, port 0 (webhook, Web API, upload URLs); a context manager.

    ``webhook_url`` is the incoming webhook to post to (its last path part is the
    secret), ``api_url`` the Web API base URL for ``WebClient(base_url=...)``.
    """

    handler_class = SlackHandler
    thread_name = "slack-standin"

    def __init__(self, token: str = "standin-slack-bot-token-4f1d0c8a", *,
                 webhook_secret: str = "standinWebhookSecretZq7pW3xK9vR2", channels: tuple[str, ...] = ("C0STANDIN",),
                 webhook_interval: float | None = None):
        self.token, self.webhook_secret = token, webhook_secret
        self.webhook_path = f"/services/T0STANDIN/B0STANDIN/{webhook_secret}"
        self.channels = set(channels)
        self.webhook_interval = webhook_interval
        self.messages: list[dict[str, Any]] = []
        self.files: dict[str, StandinFile] = {}
        self.log: list[SlackRequest] = []
        self._uploads: dict[str, str] = {}  # upload id -> file id
        self._last_post: float | None = None
        self._faults: list[_Fault] = []
        self._next = 1
        self._lock = threading.RLock()

    @property
    def webhook_url(self) -> str:
        return self.base_url + self.webhook_path

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    # -- state for tests ----------------------------------------------------------------------
    def requests_to(self, kind: str | None = None, path_pattern: str = ".*") -> list[SlackRequest]:
        pattern = re.compile(path_pattern)
        with self._lock:
            return [r for r in self.log if kind in (None, r.kind) and pattern.search(r.path)]

    def _record(self, request: SlackRequest) -> None:
        with self._lock:
            self.log.append(request)

    @staticmethod
    def kind_of(path: str) -> str:
        if path.startswith("/services/"):
            return "webhook"
        if path.startswith("/api/"):
            return "api"
        return "upload" if path.startswith("/upload/v1/") else "other"

    # -- scripted faults -------------------------------------------------------------------------
    def fail(self, status: int = 500, times: int = 1, *, target: str | None = None, error: str | None = None,
             retry_after: str | None = None, path_pattern: str = ".*") -> None:
        """The next ``times`` matching requests get ``status`` and Slack's ``error`` for it (``Retry-After`` if given).

        ``target``: ``webhook``, ``api`` or ``upload`` (None: any); ``path_pattern``
        narrows it further (``files.completeUploadExternal``).
        """
        with self._lock:
            self._faults.append(_Fault("status", target, re.compile(path_pattern), times, status, error, retry_after))

    def rate_limited(self, times: int = 1, retry_after: str = "1", *, target: str | None = None,
                     path_pattern: str = ".*") -> None:
        """The next ``times`` matching requests get 429 with ``Retry-After`` (Slack's rate limit answer)."""
        self.fail(429, times, target=target, retry_after=retry_after, path_pattern=path_pattern)

    def drop_connections(self, times: int = 1, *, target: str | None = None, path_pattern: str = ".*") -> None:
        """The next ``times`` matching requests get no response: the connection is closed."""
        with self._lock:
            self._faults.append(_Fault("drop", target, re.compile(path_pattern), times))

    def _take_fault(self, kind: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.target in (None, kind) and fault.pattern.search(path):
                    fault.remaining -= 1
                    return fault
        return None

    def _fault_answer(self, kind: str, fault: _Fault) -> Answer:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        if kind == "api":
            error = fault.error or API_ERRORS.get(fault.status, "internal_error")
            return api_answer({"ok": False, "error": error}, fault.status, headers)
        return text_answer(fault.status, fault.error or WEBHOOK_ERRORS.get(fault.status, "internal_error"), headers)

    # -- the documented answers ---------------------------------------------------------------------
    def respond(self, kind: str, method: str, path: str, query: str, content_type: str, headers: dict[str, str],
                raw: bytes) -> Answer:
        with self._lock:
            if kind == "webhook":
                return self._webhook(method, path, content_type, raw)
            if kind == "api":
                return self._api(path.removeprefix("/api/"), query, content_type, headers, raw)
            if kind == "upload" and method == "POST":
                return self._upload(path.removeprefix("/upload/v1/"), content_type, raw)
        return text_answer(404, "not_found")

    def _webhook(self, method: str, path: str, content_type: str, raw: bytes) -> Answer:
        if path != self.webhook_path:
            return text_answer(404, "no_service")
        now = time.monotonic()
        if self.webhook_interval is not None and self._last_post is not None \
                and now - self._last_post < self.webhook_interval:
            wait = math.ceil(self.webhook_interval - (now - self._last_post))
            return text_answer(429, "rate_limited", {"Retry-After": str(max(1, wait))})
        self._last_post = now
        try:
            if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
                payload = json.loads(_form(raw).get("payload", ""))
            else:
                payload = json.loads(raw.decode("utf-8"))
        except ValueError:
            return text_answer(400, "invalid_payload")
        if method != "POST" or not isinstance(payload, dict) or not isinstance(payload.get("text", ""), str):
            return text_answer(400, "invalid_payload", payload=payload)
        if not payload.get("text") and not payload.get("blocks") and not payload.get("attachments"):
            return text_answer(400, "no_text", payload=payload)
        if "blocks" in payload:
            problems = block_errors(payload["blocks"])
            if problems:
                return text_answer(400, "invalid_blocks", payload=payload, block_errors=tuple(problems))
        self.messages.append(copy.deepcopy(payload))
        return text_answer(200, "ok", payload=payload)

    def _arguments(self, query: str, content_type: str, raw: bytes) -> dict[str, Any] | None:
        args: dict[str, Any] = _form(query.encode("utf-8"))
        kind = content_type.split(";")[0].strip().lower()
        if kind == "application/json" and raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return None
            if not isinstance(body, dict):
                return None
            args.update(body)
        elif raw:
            args.update(_form(raw))
        return args

    def _api(self, name: str, query: str, content_type: str, headers: dict[str, str], raw: bytes) -> Answer:
        args = self._arguments(query, content_type, raw)
        if args is None:
            return api_answer({"ok": False, "error": "invalid_json"})
        scheme, _, bearer = next((v for k, v in headers.items() if k.lower() == "authorization"), "").partition(" ")
        token = bearer.strip() if scheme.lower() == "bearer" else str(args.get("token", ""))
        shown = {k: v for k, v in args.items() if k != "token"}
        if not token:
            return api_answer({"ok": False, "error": "not_authed"}, payload=shown)
        if not secrets.compare_digest(token, self.token):
            return api_answer({"ok": False, "error": "invalid_auth"}, payload=shown)
        if name == "files.getUploadURLExternal":
            return self._get_upload_url(shown)
        if name == "files.completeUploadExternal":
            return self._complete_upload(shown)
        return api_answer({"ok": False, "error": "unknown_method"}, payload=shown)

    def _get_upload_url(self, args: dict[str, Any]) -> Answer:
        filename, length = args.get("filename"), str(args.get("length", ""))
        if not filename or not length.isdigit() or int(length) <= 0:
            return api_answer({"ok": False, "error": "invalid_arguments"}, payload=args)
        file_id, upload_id = f"F0STANDIN{self._next:04d}", secrets.token_urlsafe(12)
        self._next += 1
        self.files[file_id] = StandinFile(file_id, str(filename), int(length), args.get("alt_txt"), upload_id)
        self._uploads[upload_id] = file_id
        return api_answer({"ok": True, "upload_url": f"{self.base_url}/upload/v1/{upload_id}", "file_id": file_id},
                          payload=args)

    def _upload(self, upload_id: str, content_type: str, raw: bytes) -> Answer:
        file_id = self._uploads.get(upload_id)
        if file_id is None:
            return text_answer(404, "not_found")
        data = raw
        if content_type.lower().startswith("multipart/form-data") and b"\r\n\r\n" in raw:
            data = raw.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0]  # the first part's content
        self.files[file_id].data = data
        return text_answer(200, f"OK - {len(data)}", payload={"file_id": file_id, "length": len(data)})

    def _complete_upload(self, args: dict[str, Any]) -> Answer:
        files = args.get("files")
        try:
            files = json.loads(files) if isinstance(files, str) else files
        except ValueError:
            files = None
        if not isinstance(files, list) or not files or not all(isinstance(f, dict) and f.get("id") for f in files):
            return api_answer({"ok": False, "error": "invalid_arguments"}, payload=args)
        channels = [c for c in ([args.get("channel_id")] + str(args.get("channels") or "").split(",")) if c]
        if any(c not in self.channels for c in channels):
            return api_answer({"ok": False, "error": "channel_not_found"}, payload=args)
        known = [self.files.get(str(f["id"])) for f in files]
        if any(k is None or k.data is None for k in known):
            return api_answer({"ok": False, "error": "file_not_found"}, payload=args)
        shared = []
        for item, record in zip(files, known):
            assert record is not None
            record.title = str(item.get("title") or record.filename)
            record.channels, record.initial_comment, record.completed = channels, args.get("initial_comment"), True
            mimetype = "image/png" if record.filename.endswith(".png") else "application/octet-stream"
            shared.append({"id": record.file_id, "name": record.filename, "title": record.title, "mimetype": mimetype,
                           "size": len(record.data or b""), "created": int(time.time()), "channels": channels,
                           "permalink": f"{PERMALINK}/{record.file_id}/{record.filename}"})
        return api_answer({"ok": True, "files": shared}, payload=args)
