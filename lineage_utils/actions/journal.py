"""The action journal: ``runs/<run_id>/data/actions.jsonl``, append-only, one JSON object a line.

Every external call is journaled twice: ``started`` before the call, ``finished`` (with
the adapter's result) after it. A planned record, an exemption or a target skipped at
the re-check is journaled once (``planned`` or ``checked``). Each line is the
:class:`Action` record plus ``event``, ``key``, ``at`` (UTC, ISO 8601) and ``detail``.

An action's *key* is stable: its kind, its target and a digest of the change it
intends (``action_key``), so a re-run of the same apply finds what already happened:
``done(key)`` (finished as ``done`` or ``noop``: never call again) and
``interrupted(key)`` (``started`` without ``finished``: the process died during the
call, so the caller re-checks the target's real state before acting again).

Appends hold a file lock (``actions.jsonl.lock``) and write each line with one
``write`` + ``fsync``. A crash mid-write leaves a torn last line: reading ignores it
(with a warning) and the next append cuts it off first. Any other line that is not a
JSON object is an :class:`ArtifactError` naming the file and the line.

One applier per run folder: the lock keeps lines whole, the in-memory index of keys is
this object's own (loaded when it is made, updated by its appends).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Mapping

from filelock import FileLock

from lineage_utils.actions.records import Action
from lineage_utils.bi.adapter import ActionResult
from lineage_utils.errors import ArtifactError

__all__ = ["Event", "Journal", "action_key", "intended_change", "journal_path", "read_journal"]

logger = logging.getLogger(__name__)

Event = Literal["planned", "checked", "started", "finished"]
FINAL = frozenset({"done", "noop"})
"""Finished results after which a key is never acted on again (``failed`` is retried after a re-check)."""


def journal_path(run_dir: Path) -> Path:
    """Where a run's journal lives (the run folder's ``actions`` artifact)."""
    return Path(run_dir) / "data" / "actions.jsonl"


def intended_change(action: Action) -> dict[str, Any]:
    """What the action means to change on its target (the digested part of its key)."""
    if action.action == "archive_report":
        return {"archived": True}
    if action.action == "delete_report":
        return {"deleted": True}
    if action.action in ("push_branch", "pull_request"):
        return {action.action: action.name, "digest": action.digest}
    if action.action == "deprecate_model":
        return {"deprecated": True, "path": action.path, "digest": action.digest}
    return {"deleted": True, "path": action.path, "digest": action.digest}


def action_key(action: Action) -> str:
    """``<kind>:<target>:<digest of the intended change>``: the same for the same change, run after run."""
    change = json.dumps(intended_change(action), sort_keys=True, separators=(",", ":"))
    return f"{action.action}:{action.target}:{hashlib.sha256(change.encode('utf-8')).hexdigest()[:16]}"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def read_journal(path: Path) -> list[dict[str, Any]]:
    """The journal's lines as dicts ([] when absent); a torn last line is left out with a warning.

    A torn line is a last line with no newline that does not parse: what a crash
    mid-write leaves. Anything else that is not a JSON object raises ``ArtifactError``
    naming the file and line number.
    """
    path = Path(path)
    if not path.is_file():
        return []
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot be read ({exc.__class__.__name__})") from None
    lines = data.split(b"\n")
    rows: list[dict[str, Any]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        last = number == len(lines)  # no newline after it
        try:
            row = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            if last:
                logger.warning("%s: line %d is torn (a crash mid-write?); it is ignored", path, number)
                continue
            raise ArtifactError(f"{path}: line {number} is not valid JSON (the journal is damaged; "
                                "move the file aside to start the apply afresh)") from None
        if not isinstance(row, dict):
            raise ArtifactError(f"{path}: line {number}: expected a JSON object, got {type(row).__name__}")
        rows.append(row)
    return rows


class Journal:
    """Append-only action journal of one run (see the module docstring)."""

    def __init__(self, path: Path, now: Callable[[], datetime] = _utcnow):
        self.path = Path(path)
        self._now = now
        self._lock = FileLock(str(self.path) + ".lock", timeout=60)
        self._last: dict[str, dict[str, Any]] = {}
        self._final: dict[str, dict[str, Any]] = {}
        for row in read_journal(self.path):
            self._index(row)

    @classmethod
    def for_run(cls, run_dir: Path, now: Callable[[], datetime] = _utcnow) -> Journal:
        return cls(journal_path(run_dir), now)

    # -- reading ------------------------------------------------------------------------
    def _index(self, row: Mapping[str, Any]) -> None:
        key = row.get("key")
        if not isinstance(key, str):
            return  # a dry-run plan line written by the cleanup stage: no event
        self._last[key] = dict(row)
        if row.get("event") == "finished" and row.get("result") in FINAL:
            self._final.setdefault(key, dict(row))

    def entries(self) -> list[dict[str, Any]]:
        """Every line now in the file (re-read)."""
        return read_journal(self.path)

    def last(self, key: str) -> dict[str, Any] | None:
        """The latest line journaled for ``key``, or None."""
        return self._last.get(key)

    def done(self, key: str) -> dict[str, Any] | None:
        """The ``finished`` line (``done`` or ``noop``) when the action already happened, else None."""
        return self._final.get(key)

    def interrupted(self, key: str) -> bool:
        """True when the latest line for ``key`` is ``started``: the call's outcome is unknown."""
        last = self._last.get(key)
        return last is not None and last.get("event") == "started"

    # -- writing ------------------------------------------------------------------------
    def _append(self, action: Action, event: Event, detail: str = "") -> dict[str, Any]:
        key = action_key(action)
        row = {**action.to_dict(), "event": event, "key": key,
               "at": self._now().isoformat(timespec="seconds").replace("+00:00", "Z"), "detail": detail}
        line = (json.dumps(row, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            with open(self.path, "a+b") as handle:
                _cut_torn_tail(handle, self.path)
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        self._index(row)
        return row

    def record(self, actions: Iterable[Action]) -> None:
        """Journal plan lines: planned calls, refusals and exemptions (``checked`` when ``skipped``)."""
        for action in actions:
            self._append(action, "checked" if action.result == "skipped" else "planned")

    def skipped(self, action: Action, detail: str = "") -> dict[str, Any]:
        """A target the pre-action re-check skipped (``action.result`` ``skipped``, its reason and evidence)."""
        return self._append(action, "checked", detail)

    def started(self, action: Action) -> str:
        """Journal the call as started (before making it); returns its key."""
        self._append(_as(action, "started"), "started")
        return action_key(action)

    def finished(self, action: Action, result: ActionResult | str, detail: str = "") -> dict[str, Any]:
        """Journal the call's outcome: an adapter's ``ActionResult`` or one of done/noop/failed/skipped."""
        if isinstance(result, ActionResult):
            result, detail = result.result, detail or result.detail
        return self._append(_as(action, result), "finished", detail)


def _as(action: Action, result: str) -> Action:
    return replace(action, mode="apply", result=result)  # type: ignore[arg-type]


def _cut_torn_tail(handle: Any, path: Path) -> None:
    """Cut a last line that has no newline (a crash mid-write) so the next line starts clean."""
    size = handle.seek(0, os.SEEK_END)
    if size == 0:
        return
    handle.seek(size - 1)
    if handle.read(1) == b"\n":
        return
    block = min(size, 1 << 20)
    handle.seek(size - block)
    tail = handle.read(block)
    cut = tail.rfind(b"\n")
    keep = size - block + cut + 1 if cut >= 0 else 0
    try:
        json.loads(tail[cut + 1:].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        logger.warning("%s: cutting a torn last line (%d bytes) before appending", path, size - keep)
        handle.truncate(keep)
        return
    handle.write(b"\n")  # a whole object that only lacked its newline: keep it
