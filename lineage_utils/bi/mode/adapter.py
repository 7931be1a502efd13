"""Mode behind the BI adapter Protocol: credentials, the previous crawl, and actions.

The I/O edge around ``mode_crawl``: credentials come from the environment variables
named in params (never from params), the previous crawl is kept in
``bi.state_dir/<workspace>.json`` for incremental crawls, and archive, unarchive and
delete act on one report each, idempotently (the report's ``archived`` is read first).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage_utils.atomic import write_text_atomic
from lineage_utils.bi.adapter import ActionKind, ActionResult, register
from lineage_utils.bi.hal import report_node_id
from lineage_utils.bi.status import CrawlStatus
from lineage_utils.bi.types import Where, flag
from lineage_utils.errors import ArtifactError, BIApiError
from lineage_utils.bi.mode.client import ModeClient
from lineage_utils.bi.mode.crawl import carry_forward, crawl_workspace
from lineage_utils.params import Params

logger = logging.getLogger(__name__)


def credentials_from_env(token_env: str, secret_env: str) -> tuple[str, str]:
    """The API token and secret; a missing variable is named, its value never shown."""
    values = []
    for key, name in (("bi.token_env", token_env), ("bi.secret_env", secret_env)):
        value = os.environ.get(name, "") if name else ""
        if not value:
            raise ArtifactError(f"environment variable {name!r} (params key '{key}') is not set: "
                                "the Mode API needs a token and a secret")
        values.append(value)
    return values[0], values[1]


def state_path(state_dir: Path, workspace: str) -> Path:
    return state_dir / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', workspace)}.json"


def load_state(path: Path) -> dict[str, Any] | None:
    """The previous crawl's bundle, or None (absent or unreadable: the crawl is then full)."""
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("previous crawl %s unreadable (%s): crawling in full", path, exc)
        return None
    return state if isinstance(state, dict) else None


def _archived(document: Any, report: str) -> bool | None:
    """A report's ``archived`` with Mode's wire types (``"false"`` is not archived); None: not said."""
    where = Where(f"GET /reports/{report}")
    return flag(document, "archived", where) if isinstance(document, dict) else None


@dataclass
class ModeAdapter:
    client: ModeClient
    state_dir: Path | None
    workers: int = 8
    include_personal: bool = True
    max_pages: int = 10_000

    @classmethod
    def from_params(cls, params: Params) -> ModeAdapter:
        token, secret = credentials_from_env(params["bi.token_env"], params["bi.secret_env"])
        client = ModeClient(
            params["bi.base_url"], params["bi.workspace"], token, secret, rate_limit=params["bi.rate_limit"],
            timeout=params["bi.timeout"], max_retries=params["bi.max_retries"], pool_size=params["bi.workers"],
            max_retries_rate_limited=params["bi.max_retries_rate_limited"],
            retry_after_max=params["bi.retry_after_cap"], max_pages=params["bi.max_pages"],
        )
        return cls(client=client, state_dir=params.path("bi.state_dir"), workers=params["bi.workers"],
                   include_personal=params["bi.include_personal_spaces"], max_pages=params["bi.max_pages"])

    # -- crawl ------------------------------------------------------------------------
    def crawl(self, full: bool = False, progress: bool = False) -> tuple[dict[str, Any], CrawlStatus]:
        path = state_path(self.state_dir, self.client.workspace) if self.state_dir else None
        previous = load_state(path) if path else None
        bundle, status = crawl_workspace(self.client, previous, full=full, workers=self.workers, progress=progress,
                                         include_personal=self.include_personal, max_pages=self.max_pages)
        if path:
            write_text_atomic(path, json.dumps(carry_forward(bundle, previous, status), sort_keys=True) + "\n")
        return bundle, status

    # -- actions ----------------------------------------------------------------------
    def _result(self, report: str, action: ActionKind, result: str, detail: str) -> ActionResult:
        logger.info("Mode %s %s: %s (%s)", action, report, result, detail)
        return ActionResult(target=report_node_id(report), action=action, result=result,  # type: ignore[arg-type]
                            detail=detail)

    def _set_archived(self, report: str, archived: bool) -> ActionResult:
        action: ActionKind = "archive" if archived else "unarchive"
        try:
            current = self.client.report(report)
            if _archived(current, report) == archived:
                return self._result(report, action, "noop", f"already {'archived' if archived else 'active'}")
            answer = (self.client.archive if archived else self.client.unarchive)(report)
            answered = _archived(answer, report)
        except (BIApiError, ArtifactError) as exc:
            return self._result(report, action, "failed", str(exc))
        if answered is not None and answered != archived:
            return self._result(report, action, "failed", f"the API answered archived={answer['archived']}")
        return self._result(report, action, "done", f"{action}d")

    def archive(self, report: str) -> ActionResult:
        return self._set_archived(report, True)

    def unarchive(self, report: str) -> ActionResult:
        return self._set_archived(report, False)

    def delete(self, report: str) -> ActionResult:
        """Delete an archived report; an active one is refused, a gone one is a no-op."""
        try:
            current = self.client.report(report)
            if _archived(current, report) is not True:
                return self._result(report, "delete", "failed", "not archived (or not known to be): a report is "
                                    "archived first and deleted only after the grace period")
            self.client.delete(report)
        except ArtifactError as exc:
            return self._result(report, "delete", "failed", str(exc))
        except BIApiError as exc:
            if exc.status == 404:
                return self._result(report, "delete", "noop", "already gone (404)")
            return self._result(report, "delete", "failed", str(exc))
        return self._result(report, "delete", "done", "deleted")


register("mode_api", ModeAdapter.from_params)
