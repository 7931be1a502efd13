"""What 03_rank does with the history store: import the archive folder, record this run, read the trends.

``record_run`` imports ``history.import_dir`` first (when set: what is stored already
is skipped, so this is cheap after the first run), then appends this run's headline
counts and the dbt invocation of ``dbt.target_dir``'s run_results.json (skipped when the
store has it), then reads every trend frame. A run is dated by the params' ``now``
(``staleness.now`` when pinned, as in the demo), so a pinned demo lines up with its
generated history. Re-running 03_rank in the same run folder replaces that run's counts:
the store holds one row per run, however often its stages run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import Iterable, Mapping

from lineage_utils.dbt.artifacts import find_artifact
from lineage_utils.history.importer import import_folder
from lineage_utils.history.queries import Trends, read_trends
from lineage_utils.history.store import CleanupMerge, append_run
from lineage_utils.params import Params

__all__ = ["Recorded", "record_run"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recorded:
    trends: Trends
    store: Path
    notes: tuple[str, ...]
    """What the notebook should say: files of the import folder that were bad, no run_results, ..."""


def record_run(params: Params, run_id: str, counts: Mapping[str, int], cleanups: Iterable[CleanupMerge] = (),
               notes: Iterable[str] = ()) -> Recorded:
    """Append this run (and ``cleanups`` merged since the last one); ``notes``: what the charts may lack, and why."""
    store = params.history_path
    notes = list(notes)
    folder = params.path("history.import_dir")
    if folder is not None:
        report = import_folder(store, folder)
        notes += [f"history.import_dir: {path}: {why}" for path, why in report.bad]
    target = params.path("dbt.target_dir")
    run_results = find_artifact(target, "run_results.json") if target is not None and target.is_dir() else None
    if run_results is None:
        notes.append(f"no run_results.json in {target}: this run's dbt invocation is not in the history")
    now = params.now()
    when = now.astimezone(timezone.utc).replace(tzinfo=None) if now.tzinfo else now  # the store's naive UTC
    append_run(store, run_id, when, dict(counts), run_results=[run_results] if run_results else [], cleanups=cleanups)
    for note in notes:
        logger.warning("history: %s", note)
    return Recorded(trends=read_trends(store), store=store, notes=tuple(notes))
