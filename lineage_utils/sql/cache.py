"""A cache of extraction results across runs, so a re-run parses only new or changed SQL.

An entry's key is a SHA-256 over the extractor version, the dialect, the query text
(its ``{% form %}`` defaults included) and the Mode definitions it uses. The extractor
version hashes the source of the extraction modules and the versions of sqlglot and
python-liquid, so changing any of them invalidates every entry without a manual bump.

The cache is one parquet file (``key``, ``version``, ``value``: the extraction as JSON)
under params ``sql.cache_dir``, written atomically. A file that cannot be read is
ignored with a warning: the cache only ever saves time, it never decides anything.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import liquid
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot

from lineage_utils.sql import reads as sql_reads
from lineage_utils.atomic import write_bytes_atomic
from lineage_utils.sql.reads import Extraction
from lineage_utils.sql.tables import TableRead
from lineage_utils.sql.templates import BUDGET_NOTE

logger = logging.getLogger(__name__)

CACHE_FORMAT = 2
"""Bump when the stored layout changes (the code hash covers extractor changes)."""
CACHE_FILE = "extractions.parquet"
MAX_ENTRIES = 500_000
"""Entries kept on save: those the latest run used, then the most recently written others."""


@functools.cache
def extractor_version() -> str:
    """Identifies the code that produced an extraction: format, module sources, libraries."""
    digest = hashlib.sha256(f"format {CACHE_FORMAT}|sqlglot {sqlglot.__version__}|liquid {liquid.__version__}".encode())
    for path in package_sources():
        digest.update(path.name.encode() + b"\x00" + path.read_bytes())
    return digest.hexdigest()[:16]


def package_sources() -> list[Path]:
    """Every module of ``lineage_utils.sql``, sorted: any of them may change an extraction."""
    return sorted(Path(sql_reads.__file__ or "").parent.glob("*.py"))


def cache_key(sql: str, dialect: str, definitions: Mapping[str, str] | None = None) -> str:
    """The key of one extraction; ``definitions`` are the ones the query uses."""
    digest = hashlib.sha256(extractor_version().encode())
    digest.update(b"\x00" + (dialect or "").encode() + b"\x00")
    digest.update(sql.encode("utf-8", "surrogatepass"))
    for name, text in sorted((definitions or {}).items()):
        digest.update(b"\x00@" + name.encode("utf-8", "surrogatepass") + b"=" + text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def cacheable(extraction: Extraction) -> bool:
    """False when the result depends on timing (the branch time budget was hit)."""
    return BUDGET_NOTE not in (extraction.reason or "")


def encode(extraction: Extraction) -> str:
    """One extraction as compact JSON (each read a flat list)."""
    return json.dumps(
        [
            [[r.catalog, r.db, r.name, *r.quoted, r.raw, r.conditional] for r in extraction.reads],
            extraction.template_path,
            extraction.parsed,
            extraction.reason,
            list(extraction.missing_definitions),
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode(value: str, interned: dict[tuple[object, ...], TableRead] | None = None) -> Extraction:
    """The extraction ``encode`` stored; equal reads share one record through ``interned``."""
    reads, template_path, parsed, reason, missing = json.loads(value)
    interned = {} if interned is None else interned
    records = []
    for item in reads:
        flat = tuple(item)
        read = interned.get(flat)
        if read is None:
            catalog, db, name, q_catalog, q_db, q_name, raw, conditional = flat
            read = interned[flat] = TableRead(catalog, db, name, (q_catalog, q_db, q_name), raw, conditional)
        records.append(read)
    return Extraction(
        reads=tuple(records),
        template_path=template_path,
        parsed=parsed,
        reason=reason,
        missing_definitions=tuple(missing),
    )


class ExtractionCache:
    """Extractions by key, loaded from and saved to one file (or in memory only)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._stored: dict[str, str] = {}
        self._used: dict[str, str] = {}
        self.hits = 0
        self.misses = 0
        self._interned: dict[tuple[object, ...], TableRead] = {}
        self._dirty = False

    @classmethod
    def open(cls, cache_dir: Path | None) -> ExtractionCache:
        """The cache in ``cache_dir`` (None: in memory only); an unreadable file is ignored."""
        cache = cls(None if cache_dir is None else Path(cache_dir) / CACHE_FILE)
        if cache.path is not None and cache.path.exists():
            try:
                table = pq.read_table(cache.path, columns=["key", "version", "value"])
                version = extractor_version()
                keys, versions, values = (table.column(n).to_pylist() for n in ("key", "version", "value"))
                cache._stored = {k: v for k, ver, v in zip(keys, versions, values) if ver == version}
                if len(cache._stored) < len(keys):
                    cache._dirty = True  # drop entries of an older extractor on save
            except Exception as exc:  # noqa: BLE001 - a broken cache is a slow run, never a failed one
                logger.warning("SQL cache %s is unreadable and is ignored (%s: %s)", cache.path,
                               type(exc).__name__, str(exc)[:200])
                cache._stored = {}
                cache._dirty = True
        return cache

    def __len__(self) -> int:
        return len({**self._stored, **self._used})

    def get(self, key: str) -> Extraction | None:
        value = self._used.get(key)
        if value is None:
            value = self._stored.get(key)
        if value is None:
            self.misses += 1
            return None
        try:
            extraction = decode(value, self._interned)
        except Exception:  # noqa: BLE001 - a damaged entry is a miss
            logger.debug("SQL cache entry %s is damaged", key)
            self.misses += 1
            return None
        self.hits += 1
        self._used[key] = value
        return extraction

    def put(self, key: str, extraction: Extraction) -> None:
        if not cacheable(extraction):
            return
        value = encode(extraction)
        if self._stored.get(key) != value:
            self._dirty = True
        self._used[key] = value

    def save(self) -> Path | None:
        """Write the file atomically when something changed; the oldest entries go past MAX_ENTRIES."""
        if self.path is None or not self._dirty:
            return None
        # oldest first, the entries this run used last: trimming drops the oldest
        merged = {k: v for k, v in self._stored.items() if k not in self._used}
        merged.update(self._used)
        if len(merged) > MAX_ENTRIES:
            merged = dict(list(merged.items())[-MAX_ENTRIES:])
        version = extractor_version()
        table = pa.table({
            "key": pa.array(list(merged), pa.string()),
            "version": pa.array([version] * len(merged), pa.string()),
            "value": pa.array(list(merged.values()), pa.string()),
        })
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        try:
            write_bytes_atomic(self.path, buffer.getvalue())
        except OSError as exc:
            logger.warning("SQL cache %s could not be written (%s); the next run parses again", self.path, exc)
            return None
        self._stored = {**self._stored, **self._used}
        self._dirty = False
        return self.path


# -- whole results ----------------------------------------------------------------------
RESULT_PREFIX = "refs-"
RESULTS_KEPT = 3


def result_key(context: object, rows: Sequence[Sequence[object]]) -> str:
    """A key over everything a resolution result depends on (and the extractor's code).

    ``context`` is hashed by its repr; each row's fields are joined as text.
    """
    digest = hashlib.sha256(f"result|{extractor_version()}|{context!r}".encode("utf-8", "surrogatepass"))
    text = "\x1e".join("\x1f".join(map(str, row)) for row in rows)
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


def load_result(cache_dir: Path | None, key: str, columns: Sequence[str]) -> pd.DataFrame | None:
    """The reference table of an identical earlier run, or None (missing or unreadable)."""
    if cache_dir is None:
        return None
    path = Path(cache_dir) / f"{RESULT_PREFIX}{key}.parquet"
    if not path.is_file():
        return None
    try:
        table = pq.read_table(path)
        if table.column_names != list(columns):
            return None
        frame = table.to_pandas()  # list cells come back as arrays, as from query_refs.parquet
    except Exception as exc:  # noqa: BLE001 - a broken cache is a slow run, never a failed one
        logger.warning("SQL result cache %s is unreadable and is ignored (%s)", path, type(exc).__name__)
        return None
    path.touch()
    return frame


def save_result(cache_dir: Path | None, key: str, frame: pd.DataFrame) -> None:
    """Keep this run's reference table for an identical re-run; the oldest beyond RESULTS_KEPT go."""
    if cache_dir is None:
        return
    folder = Path(cache_dir)
    try:
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer, compression="zstd")
        write_bytes_atomic(folder / f"{RESULT_PREFIX}{key}.parquet", buffer.getvalue())
        kept = sorted(folder.glob(f"{RESULT_PREFIX}*.parquet"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[RESULTS_KEPT:]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        logger.warning("SQL result cache in %s could not be written (%s)", folder, exc)
