"""What the model-removal branch changes: the strategy's verdict per model, then the file changes.

``apply_strategy`` turns each planned ``delete_model`` record (the gates passed it) into
what ``cleanup.strategy`` decides for it (``actions.strategy.decide_removal``): still
``delete_model``, a ``deprecate_model`` (its YAML entry gets a ``deprecation_date``),
or ``skipped`` with reason ``deprecated_until`` (a future ``deprecation_date`` is never
deleted before). The verdict's sentence is put before the record's evidence.

``plan_removal`` makes the file changes of one set: the deletions (``actions.patch``:
files, YAML entries, tests, semantic nodes, docs blocks, generated exposure refs) and
the deprecations (``actions.deprecate``) on top of them, one ``FileChange`` per file.
The dry run and the apply call it with the same inputs, so the branch pushed is the
patch shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from lineage_utils.actions.deprecate import plan_deprecation
from lineage_utils.actions.patch import Deletion, FileChange, plan_deletion
from lineage_utils.actions.records import Action
from lineage_utils.actions.strategy import RemovalDecision, decide_removal
from lineage_utils.dbt.semantic import SemanticNode
from lineage_utils.dbt.tests_of import DbtTest
from lineage_utils.lineage.orphans import Orphan

__all__ = ["REMOVALS", "Removal", "RemovalInputs", "RemovalPlan", "apply_strategy", "plan_removal"]

REMOVALS = frozenset({"delete_model", "deprecate_model"})


@dataclass(frozen=True)
class RemovalInputs:
    """What the removal's file changes are planned from (read once by 04_cleanup)."""

    project_dir: Path
    orphans: tuple[Orphan, ...]
    tests: Mapping[str, DbtTest]
    properties: Mapping[str, str]
    semantic: Mapping[str, SemanticNode]
    docs: Any = None
    generated_exposures: str | None = None
    model_paths: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RemovalPlan:
    """What 04_cleanup planned for the models, kept for the apply: records, inputs, verdicts, last runs."""

    actions: tuple[Action, ...]
    inputs: RemovalInputs
    decisions: tuple[RemovalDecision, ...]
    runs: Mapping[str, Any] = field(default_factory=dict)
    """Model id -> its last dbt run (``pr_body.RunFacts``)."""


@dataclass(frozen=True)
class Removal:
    changes: tuple[FileChange, ...]
    deletion: Deletion
    deleted: tuple[str, ...]
    deprecated: tuple[str, ...]
    problems: tuple[str, ...]


def apply_strategy(actions: Iterable[Action], orphans: Iterable[Orphan], nodes: pd.DataFrame, strategy: str,
                   today: date, deprecation_days: int) -> tuple[list[Action], list[RemovalDecision]]:
    """Planned ``delete_model`` records as the strategy decides them (see the module docstring)."""
    actions = list(actions)
    planned = {a.target for a in actions if a.action == "delete_model" and a.result == "planned"}
    decisions = decide_removal([o for o in orphans if o.unique_id in planned], nodes, strategy, today,
                               deprecation_days)
    verdict = {d.unique_id: d for d in decisions}
    out = []
    for action in actions:
        decision = verdict.get(action.target) if action.action == "delete_model" else None
        if decision is None or action.result != "planned":
            out.append(action)
            continue
        evidence = f"{decision.reason}. {action.evidence}" if action.evidence else decision.reason
        if decision.how == "deprecate":
            out.append(replace(action, action="deprecate_model", evidence=evidence))
        elif decision.how == "keep":
            out.append(replace(action, result="skipped", reason="deprecated_until", evidence=evidence))
        else:
            out.append(replace(action, evidence=evidence))
    return out, decisions


def plan_removal(inputs: RemovalInputs, actions: Iterable[Action], decisions: Iterable[RemovalDecision]) -> Removal:
    """The file changes that carry out the planned ``delete_model`` and ``deprecate_model`` records."""
    actions = [a for a in actions if a.action in REMOVALS and a.result == "planned"]
    delete = {a.target for a in actions if a.action == "delete_model"}
    deprecate = {a.target for a in actions if a.action == "deprecate_model"}
    deletion = plan_deletion(inputs.project_dir, [o for o in inputs.orphans if o.unique_id in delete], inputs.tests,
                             inputs.properties, inputs.semantic, docs=inputs.docs,
                             generated_exposures=inputs.generated_exposures)
    changes = {c.path: c for c in deletion.changes}
    wanted = [d for d in decisions if d.unique_id in deprecate and d.how == "deprecate"]
    edits, problems = plan_deprecation(inputs.project_dir, wanted, inputs.properties, inputs.model_paths,
                                       texts={p: c.after for p, c in changes.items() if c.after is not None})
    for edit in edits:
        earlier = changes.get(edit.path)
        changes[edit.path] = replace(edit, before=earlier.before, mode=earlier.mode) if earlier else edit
    return Removal(changes=tuple(changes[p] for p in sorted(changes)), deletion=deletion,
                   deleted=deletion.models, deprecated=tuple(sorted(d.unique_id for d in wanted)),
                   problems=tuple(deletion.problems) + tuple(problems))
