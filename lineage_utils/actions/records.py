"""The action record: one line of ``runs/<run_id>/data/actions.jsonl``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

ActionKind = Literal["archive_report", "delete_model"]
ActionMode = Literal["dry_run", "apply"]
ActionState = Literal["planned", "refused", "started", "done", "noop", "failed"]
"""``refused``: planning declined the action (its evidence says why); apply never runs it."""


@dataclass(frozen=True)
class Action:
    """One external change: what it acts on, why (evidence), and where it stands.

    ``rules`` are the staleness rules of an archival; ``path`` and ``reason`` the model
    file and orphan reason of a deletion (empty for the other kind); a deletion refused
    because its path leaves the dbt project has ``reason`` ``path_outside_project``.
    """

    action: ActionKind
    target: str
    name: str
    evidence: str
    mode: ActionMode
    result: ActionState
    run_id: str
    rules: tuple[str, ...] = ()
    path: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rules"] = list(self.rules)
        return data
