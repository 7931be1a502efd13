"""Extract the reads of many queries: cached, deduplicated, and on several cores when many.

``extract_all`` looks every query up in an ``ExtractionCache`` first; only misses are
parsed, each distinct (SQL, dialect, definitions) once. More than
``PARALLEL_THRESHOLD`` misses and ``workers > 1`` parse in a process pool, in chunks;
smaller inputs stay in-process (a pool costs more than it saves there). A pool that
cannot start or breaks falls back to in-process parsing with a warning.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from lineage_utils.sql.cache import ExtractionCache, cache_key
from lineage_utils.sql.reads import Extraction, extract_reads
from lineage_utils.sql.templates import definitions_used

logger = logging.getLogger(__name__)

PARALLEL_THRESHOLD = 200
"""Fewer uncached queries than this are parsed in-process."""
CHUNK_SIZE = 50
"""Queries per task sent to a worker process."""


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around allocation-heavy loops without cycles.

    Building many small records (cache hits, reference rows) otherwise triggers full
    collections over a large heap again and again; that was 40% of a warm run. Parsing
    is never run inside: sqlglot trees are cyclic and need the collector.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class ExtractJob:
    """One query to extract: its text, dialect and the definitions it uses."""

    sql: str
    dialect: str
    definitions: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, sql: str, dialect: str, definitions: Mapping[str, str] | None = None) -> ExtractJob:
        """A job carrying only the definitions ``sql`` refers to (they make its cache key)."""
        text = sql if isinstance(sql, str) else ""
        return cls(text, dialect or "", definitions_used(text, definitions) if "@" in text else {})


@dataclass(frozen=True)
class BatchStats:
    """What one extract_all call did."""

    queries: int
    cached: int
    parsed: int
    workers: int


def extract_all(
    jobs: Sequence[ExtractJob], cache: ExtractionCache | None = None, workers: int = 1
) -> tuple[list[Extraction], BatchStats]:
    """Extractions in job order, and how many came from the cache / were parsed."""
    cache = cache if cache is not None else ExtractionCache()
    keys = [cache_key(job.sql, job.dialect, job.definitions) for job in jobs]
    found: dict[str, Extraction] = {}
    todo: dict[str, ExtractJob] = {}
    with gc_paused():
        for key, job in zip(keys, jobs):
            if key in found or key in todo:
                continue
            hit = cache.get(key)
            if hit is None:
                todo[key] = job
            else:
                found[key] = hit
    cached = len(found)
    used = 1
    if todo:
        pending = list(todo.items())
        results, used = _parse(pending, workers)
        for (key, _), extraction in zip(pending, results):
            found[key] = extraction
            cache.put(key, extraction)
    stats = BatchStats(queries=len(jobs), cached=cached, parsed=len(todo), workers=used)
    logger.info("SQL extraction: %d queries, %d distinct cached, %d parsed on %d process(es)",
                stats.queries, stats.cached, stats.parsed, stats.workers)
    return [found[key] for key in keys], stats


def _parse(pending: list[tuple[str, ExtractJob]], workers: int) -> tuple[list[Extraction], int]:
    jobs = [job for _, job in pending]
    if workers <= 1 or len(jobs) <= PARALLEL_THRESHOLD:
        return _extract_chunk(jobs), 1
    # big queries first, so one slow chunk does not finish alone at the end
    order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i].sql))
    chunks = [order[i : i + CHUNK_SIZE] for i in range(0, len(order), CHUNK_SIZE)]
    results: list[Extraction | None] = [None] * len(jobs)
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for chunk, extracted in zip(chunks, pool.map(_extract_chunk, [[jobs[i] for i in c] for c in chunks])):
                for index, extraction in zip(chunk, extracted):
                    results[index] = extraction
    except Exception as exc:  # noqa: BLE001 - no pool (sandbox, broken worker): parse here instead
        logger.warning("parallel SQL parsing failed (%s: %s); parsing in-process", type(exc).__name__, exc)
        return _extract_chunk(jobs), 1
    return [r if r is not None else _extract_chunk([jobs[i]])[0] for i, r in enumerate(results)], workers


def _extract_chunk(jobs: Sequence[ExtractJob]) -> list[Extraction]:
    return [extract_reads(job.sql, job.dialect, job.definitions) for job in jobs]
