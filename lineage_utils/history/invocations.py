"""One dbt invocation read from a run_results.json: frozen records, nothing stored yet.

``dbt.artifacts`` reads the file (``read_artifact``: ``.json`` or ``.json.gz``) and the
per-node results (``parse_run_results``); this module adds what the history keeps and
the analyses do not need: the invocation's id, dbt version, command and each node's
start time. A file that is not a run_results.json raises :class:`ArtifactError`
naming it and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from lineage_utils.dbt.artifacts import parse_run_results, read_artifact
from lineage_utils.dbt.shapes import get_list, get_object, get_text
from lineage_utils.errors import ArtifactError

DEMO_ENV_KEY = "METAPIPELINE_DEMO_DATA"
"""``metadata.env`` key marking generated demo data (dbt copies ``DBT_ENV_CUSTOM_ENV_<KEY>`` there)."""


@dataclass(frozen=True)
class NodeExecution:
    """One node executed by one dbt invocation."""

    unique_id: str
    status: str
    execution_time: float
    started_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class Invocation:
    """One dbt invocation (one run_results.json) and the nodes it executed, sorted by unique_id."""

    invocation_id: str
    generated_at: datetime | None
    dbt_version: str | None
    command: str | None
    elapsed_time: float | None
    demo: bool
    nodes: tuple[NodeExecution, ...]


def utc_naive(text: str | None, origin: str = "") -> datetime | None:
    """An ISO 8601 timestamp as naive UTC (a naive one is taken as UTC, as dbt writes them)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ArtifactError(f"{origin}: not an ISO 8601 timestamp: {text!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _command(data: Mapping[str, Any], path: Path) -> str | None:
    """``args.invocation_command`` (dbt 1.7+), else ``dbt <args.which>``, else unknown."""
    args = get_object(data, "args", path)
    command = get_text(args, "invocation_command", path, "args")
    if command:
        return command
    which = get_text(args, "which", path, "args")
    return f"dbt {which}" if which else None


def _started_at(data: Mapping[str, Any], path: Path) -> dict[str, datetime | None]:
    """Each result's ``timing`` ``execute`` start (``parse_run_results`` keeps only the end)."""
    starts: dict[str, datetime | None] = {}
    for index, item in enumerate(get_list(data, "results", path)):
        execute = next((step for step in get_list(item, "timing", path, f"results[{index}]")
                        if isinstance(step, Mapping) and step.get("name") == "execute"), {})
        starts[str(item.get("unique_id"))] = utc_naive(execute.get("started_at"), f"{path}: results[{index}]")
    return starts


def parse_invocation(data: Mapping[str, Any], path: Path) -> Invocation:
    """A run_results dict as an :class:`Invocation`; a wrong shape names ``path`` and the key."""
    results = parse_run_results(data, path)
    metadata = get_object(data, "metadata", path)
    invocation_id = get_text(metadata, "invocation_id", path, "metadata")
    if not invocation_id:
        raise ArtifactError(f"{path}: no metadata.invocation_id (not a run_results.json of dbt 0.19 or later?)")
    starts = _started_at(data, path)
    nodes = tuple(
        NodeExecution(unique_id=uid, status=result.status, execution_time=float(result.execution_time),
                      started_at=starts.get(uid), completed_at=utc_naive(result.completed_at, f"{path}: {uid}"))
        for uid, result in sorted(results.items()))
    elapsed = data.get("elapsed_time")
    return Invocation(
        invocation_id=invocation_id,
        generated_at=utc_naive(get_text(metadata, "generated_at", path, "metadata"), f"{path}: metadata"),
        dbt_version=get_text(metadata, "dbt_version", path, "metadata"),
        command=_command(data, path),
        elapsed_time=float(elapsed) if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool) else None,
        demo=DEMO_ENV_KEY in get_object(metadata, "env", path, "metadata"),
        nodes=nodes,
    )


def read_invocation(path: Path | str) -> Invocation:
    """The invocation in a run_results.json (or ``.json.gz``) file."""
    path = Path(path)
    return parse_invocation(read_artifact(path), path)
