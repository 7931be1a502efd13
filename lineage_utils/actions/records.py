"""The action record: one line of ``runs/<run_id>/data/actions.jsonl``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

ActionKind = Literal["archive_report", "delete_report", "delete_model", "deprecate_model", "push_branch",
                     "pull_request"]
"""``push_branch`` and ``pull_request`` are the two steps of a PR kind (``name`` says which:
``deletion_pr`` or ``exposures_pr``): ``target`` is the branch, ``digest`` the pushed commit
or the digest of the PR's set (its models or the generated file)."""
ActionMode = Literal["dry_run", "apply"]
ActionState = Literal["planned", "refused", "skipped", "started", "done", "noop", "failed"]
"""``refused``: planning declined the action (its evidence says why); apply never runs it.
``skipped``: an exemption (protected or personal space, cap reached, grace period) or a
target that changed since the plan; ``reason`` names which, ``evidence`` gives the figures."""


@dataclass(frozen=True)
class Action:
    """One external change: what it acts on, why (evidence), and where it stands.

    ``rules`` are the staleness rules of an archival; ``path`` and ``reason`` the model
    file and orphan reason of a deletion (empty for the other kind); a deletion refused
    because its path leaves the dbt project has ``reason`` ``path_outside_project``.
    ``tests`` are the dbt tests a deletion removes with the model: its own, and those
    declared on other models or sources that touch it (a ``relationships`` test whose
    ``to:`` is this model), which the cleanup patch removes from their YAML.
    ``semantic`` are the semantic-layer nodes (semantic models, metrics, saved queries)
    that read the model, directly or through other semantic nodes, which the cleanup
    patch removes with it.
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
    tests: tuple[str, ...] = ()
    semantic: tuple[str, ...] = ()
    digest: str | None = None
    """A model deletion's file content hash when planned (``actions.gates``: re-checked before acting)."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rules"] = list(self.rules)
        data["tests"] = list(self.tests)
        data["semantic"] = list(self.semantic)
        return data
