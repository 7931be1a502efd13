"""Delivering the run's Slack message: the message file, an incoming webhook, the chart upload.

``write_message`` always writes the Block Kit payload to ``data/slack_message.json``
(the dry run stops there); ``post_message`` sends it to an incoming webhook with
``slack_sdk.webhook.WebhookClient``; ``upload_chart`` uploads the models-per-day chart
with a bot token through ``WebClient.files_upload_v2`` (``files.getUploadURLExternal``,
the upload to the URL it returns, ``files.completeUploadExternal``). ``deliver`` does
all three the way the params say (``slack.post``, ``slack.webhook_env``,
``slack.token_env``, ``slack.channel``, ``slack.api_url``).

Retries are slack_sdk's own handlers (``slack_sdk.http_retry``): a 429 waits its
``Retry-After``; a 500 or 503 and a dropped connection are retried with backoff.
Secrets come from the environment only. The webhook URL *is* a secret, so it is never
named: an error names ``incoming webhook https://hooks.slack.com/***``. Every message
slack_sdk logs goes through a logger that redacts the URL and the token, and every
error is redacted and raised without its cause (whose text could carry them).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError
from slack_sdk.http_retry import (BackoffRetryIntervalCalculator, ConnectionErrorRetryHandler,
                                  FixedValueRetryIntervalCalculator, RateLimitErrorRetryHandler, RetryHandler)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

from lineage_utils.atomic import write_text_atomic
from lineage_utils.errors import MetapipelineError, first_line
from lineage_utils.jsonio import dumps_json
from lineage_utils.publish.slack_message import SlackSummary, build_message, count_deltas, mrkdwn_escape
from lineage_utils.redact import redact, redact_body

__all__ = ["CHART_FILENAME", "MESSAGE_FILE", "PostResult", "SlackDelivery", "SlackError", "SlackSummary",
           "UploadResult", "build_message", "count_deltas", "deliver", "mrkdwn_escape", "post_message",
           "retry_handlers", "upload_chart", "webhook_endpoint", "write_message"]

logger = logging.getLogger(__name__)

MESSAGE_FILE = "slack_message.json"
CHART_FILENAME = "models_per_day.png"
DEFAULT_API_URL = "https://slack.com/api/"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_RETRIED_STATUSES = frozenset({429, 500, 503})  # what slack_sdk's handlers retry


class SlackError(MetapipelineError):
    """Slack refused or could not be reached; names the endpoint and Slack's error, never a secret.

    ``status`` is the HTTP status (None without a response), ``error`` Slack's error code
    (``invalid_payload``, ``ratelimited``, ``channel_not_found``, ...), ``retried``
    whether slack_sdk's retry handlers were given the failure first.
    """

    def __init__(self, message: str, *, endpoint: str, status: int | None = None, error: str = "",
                 retried: bool = False):
        super().__init__(message)
        self.endpoint, self.status, self.error, self.retried = endpoint, status, error, retried


@dataclass(frozen=True)
class PostResult:
    """The webhook's answer: HTTP 200 and ``ok``."""

    endpoint: str
    status: int
    body: str


@dataclass(frozen=True)
class UploadResult:
    """The uploaded chart as ``files.completeUploadExternal`` answered it."""

    endpoint: str
    file_id: str
    title: str
    channel: str


@dataclass(frozen=True)
class SlackDelivery:
    """What ``deliver`` did: the message file always; a post and an upload when asked and possible."""

    message_path: Path
    posted: PostResult | None = None
    upload: UploadResult | None = None
    notes: tuple[str, ...] = ()


class _RedactingLogger(logging.Logger):
    """The logger slack_sdk is given: each record's text (traceback included) redacted, then passed up."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__(f"{__name__}.sdk")
        self.parent = logger  # not registered with the manager: one per call, gone with the client
        self._secrets = tuple(s for s in secrets if s)

    def handle(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = redact(text, self._secrets), None
        super().handle(record)


def retry_handlers(max_retries: int = 2, backoff: float = 0.5) -> list[RetryHandler]:
    """slack_sdk's handlers: connection errors, 429 (after ``Retry-After``), 500/503; ``backoff`` 0: at once."""
    interval = (BackoffRetryIntervalCalculator(backoff_factor=backoff) if backoff > 0
                else FixedValueRetryIntervalCalculator(0.0))
    return [ConnectionErrorRetryHandler(max_retries, interval), RateLimitErrorRetryHandler(max_retries, interval),
            ServerErrorRetryHandler(max_retries, interval)]


def _checked_url(url: str, what: str) -> tuple[str, str]:
    """(scheme, host[:port]) of an http(s) URL; plain http only to loopback (a secret travels with it)."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname or "", parts.port
    except ValueError:
        host, port, parts = "", None, urlsplit("")
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise SlackError(f"the Slack {what} is not an http(s) URL", endpoint=what)
    if parts.scheme.lower() == "http" and host not in _LOOPBACK:
        raise SlackError(f"the Slack {what} must be https (plain http only to 127.0.0.1)", endpoint=what)
    shown = f"[{host}]" if ":" in host else host
    return parts.scheme.lower(), shown + (f":{port}" if port else "")


def webhook_endpoint(webhook_url: str) -> str:
    """How errors and logs name a webhook: scheme and host only (its path is the secret)."""
    scheme, host = _checked_url(webhook_url, "incoming webhook URL")
    return f"incoming webhook {scheme}://{host}/***"


def _webhook_secrets(webhook_url: str) -> tuple[str, ...]:
    path = urlsplit(webhook_url.strip()).path
    last = path.rstrip("/").rpartition("/")[2]  # Slack's webhook secret is the last path part
    return tuple(s for s in (webhook_url.strip(), path, path.strip("/"), last) if s)


def write_message(run_dir_data: Path, payload: Mapping[str, Any]) -> Path:
    """``payload`` as canonical JSON in ``<run>/data/slack_message.json``, atomically; returns the path."""
    path = Path(run_dir_data) / MESSAGE_FILE
    write_text_atomic(path, dumps_json(dict(payload)))
    return path


def post_message(payload: Mapping[str, Any], webhook_url: str, *, timeout: float = 10.0, max_retries: int = 2,
                 backoff: float = 0.5, secrets: Iterable[str] = (), proxy: str | None = None) -> PostResult:
    """Send ``payload`` to the incoming webhook; raises :class:`SlackError` unless Slack answers 200 ``ok``.

    ``secrets``: other values to keep out of logs and errors (the bot token).
    """
    endpoint = webhook_endpoint(webhook_url)
    hidden = (*_webhook_secrets(webhook_url), *secrets)
    client = WebhookClient(webhook_url.strip(), timeout=timeout,  # type: ignore[arg-type]
                           logger=_RedactingLogger(hidden), retry_handlers=retry_handlers(max_retries, backoff),
                           proxy=proxy)
    try:
        response = client.send_dict(dict(payload))
    except (SlackClientError, URLError, OSError, ValueError) as exc:
        raise SlackError(f"Slack {endpoint}: the request failed ({redact_body(first_line(exc), hidden)})",
                         endpoint=endpoint, retried=max_retries > 0) from None
    body = redact_body(str(response.body or ""), hidden)
    if response.status_code == 200 and body.strip() == "ok":
        logger.info("posted the run's message to Slack (%s)", endpoint)
        return PostResult(endpoint, 200, body)
    retried = max_retries > 0 and response.status_code in _RETRIED_STATUSES
    raise SlackError(f"Slack {endpoint} answered HTTP {response.status_code} {body!r}"
                     + (f" after {max_retries} retries" if retried else ""),
                     endpoint=endpoint, status=response.status_code, error=body.strip(), retried=retried)


def _api_error(exc: SlackApiError, base: str, hidden: tuple[str, ...], max_retries: int) -> SlackError:
    response = exc.response
    method = str(getattr(response, "api_url", "") or "").rpartition("/")[2] or "Web API"
    data = getattr(response, "data", None)
    code = str(data.get("error", "")) if isinstance(data, dict) else ""
    status = getattr(response, "status_code", None)
    code = redact_body(code or "no error code", hidden, 120)
    retried = max_retries > 0 and status in _RETRIED_STATUSES
    return SlackError(f"Slack Web API {method} ({base}{method}) failed: {code} (HTTP {status})"
                      + (f" after {max_retries} retries" if retried else ""),
                      endpoint=f"{base}{method}", status=status, error=code, retried=retried)


def upload_chart(png_bytes: bytes, token: str, channel: str, api_url: str = DEFAULT_API_URL, *,
                 filename: str = CHART_FILENAME, title: str = "Models per day",
                 alt_txt: str = "Chart: dbt models per day", initial_comment: str | None = None,
                 timeout: float = 30.0, max_retries: int = 2, backoff: float = 0.5, secrets: Iterable[str] = (),
                 proxy: str | None = None) -> UploadResult:
    """Upload the chart to ``channel`` (files upload v2); raises :class:`SlackError` naming the failing step."""
    scheme, host = _checked_url(api_url, "Web API URL (params key 'slack.api_url')")
    base = api_url.strip().rstrip("/") + "/"
    if not token:
        raise SlackError("uploading the chart needs a Slack bot token", endpoint=base)
    if not channel:
        raise SlackError("uploading the chart needs a channel id (params key 'slack.channel')", endpoint=base)
    hidden = (token, *secrets)
    client = WebClient(token=token, base_url=base, timeout=timeout,  # type: ignore[arg-type]
                       logger=_RedactingLogger(hidden), retry_handlers=retry_handlers(max_retries, backoff),
                       proxy=proxy)
    upload_step = "the upload URL files.getUploadURLExternal returned"
    try:
        response = client.files_upload_v2(content=bytes(png_bytes), filename=filename, title=title,
                                          alt_txt=alt_txt, channel=channel, initial_comment=initial_comment)
    except SlackApiError as exc:
        raise _api_error(exc, base, hidden, max_retries) from None
    except SlackRequestError as exc:  # the upload to the returned URL answered, but not 200
        raise SlackError(f"Slack file upload ({upload_step}) failed: {redact_body(first_line(exc), hidden)}",
                         endpoint=upload_step) from None
    except HTTPError as exc:  # only the upload step raises these (the API calls answer through SlackApiError)
        raise SlackError(f"Slack file upload ({upload_step}) answered HTTP {exc.code}", endpoint=upload_step,
                         status=exc.code) from None
    except (SlackClientError, URLError, OSError, ValueError) as exc:
        raise SlackError(f"Slack Web API {scheme}://{host} (files upload v2): the request failed "
                         f"({redact_body(first_line(exc), hidden)})", endpoint=base, retried=max_retries > 0) from None
    file = response.get("file") or next(iter(response.get("files") or []), {}) or {}
    logger.info("uploaded the chart %s to Slack channel %s", filename, channel)
    return UploadResult(f"{base}files.completeUploadExternal", str(file.get("id", "")),
                        str(file.get("title", title)), channel)


def _env(name: str) -> str:
    return os.environ.get(name, "").strip() if name else ""


def deliver(payload: Mapping[str, Any], run_dir_data: Path, *, post: bool, webhook_env: str, token_env: str = "",
            channel: str = "", api_url: str = DEFAULT_API_URL, chart_png: bytes | None = None,
            **options: Any) -> SlackDelivery:
    """Write the message file; with ``post``, send it and (bot token, channel and chart given) upload the chart.

    Secrets are read here from the environment variables the params name. A missing
    webhook URL or a refused post raises :class:`SlackError`; the chart is extra, so an
    upload that cannot happen or fails is a note (and a warning), not an error.
    ``options`` go to both calls (``timeout``, ``max_retries``, ``backoff``, ``proxy``).
    """
    path = write_message(run_dir_data, payload)
    if not post:
        logger.info("slack.post is off: the message is in %s", path)
        return SlackDelivery(path, notes=("dry run (slack.post is off): nothing was sent",))
    webhook_url, token = _env(webhook_env), _env(token_env)
    if not webhook_url:
        raise SlackError(f"slack.post is on but the environment variable {webhook_env!r} (params key "
                         "'slack.webhook_env') is not set", endpoint="incoming webhook")
    posted = post_message(payload, webhook_url, secrets=(token,), **options)
    missing = [what for what, ok in (("bot token (slack.token_env)", token), ("channel (slack.channel)", channel),
                                     ("models-per-day chart", chart_png)) if not ok]
    if missing:
        return SlackDelivery(path, posted, notes=("chart not uploaded: missing " + ", ".join(missing),))
    try:
        upload = upload_chart(chart_png or b"", token, channel, api_url, secrets=_webhook_secrets(webhook_url),
                              **options)
    except SlackError as exc:
        logger.warning("chart not uploaded: %s", exc)
        return SlackDelivery(path, posted, notes=(f"chart not uploaded: {exc}",))
    return SlackDelivery(path, posted, upload)
