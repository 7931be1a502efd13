"""The extraction cache and batch extraction: keys, round trips, corruption, workers."""

from __future__ import annotations

import logging

import pytest

from lineage_utils.sql import batch as sql_batch, cache as sql_cache
from lineage_utils.sql.batch import ExtractJob, extract_all
from lineage_utils.sql.cache import CACHE_FILE, ExtractionCache, cache_key, decode, encode
from lineage_utils.sql.reads import extract_reads

TEMPLATED = "SELECT * FROM {% if g == 'w' %}s.w{% else %}s.d{% endif %}\n{% form %}\ng:\n  default: d\n{% endform %}"


def test_encode_decode_round_trip():
    for sql in ("SELECT * FROM a.b JOIN \"C\".d ON 1=1", TEMPLATED, "SELEC nope", "SELECT * FROM {{ @gone }}"):
        extraction = extract_reads(sql, "postgres")
        assert decode(encode(extraction)) == extraction


def test_key_depends_on_sql_dialect_and_definitions():
    base = cache_key("SELECT 1", "postgres", {})
    assert base == cache_key("SELECT 1", "postgres", {})
    assert len({base, cache_key("SELECT 2", "postgres"), cache_key("SELECT 1", "snowflake"),
                cache_key("SELECT 1", "postgres", {"d": "SELECT * FROM x"})}) == 4


def test_form_defaults_are_part_of_the_key():
    assert cache_key(TEMPLATED, "postgres") != cache_key(TEMPLATED.replace("default: d", "default: w"), "postgres")


def test_job_keeps_only_the_definitions_it_uses():
    defs = {"a": "SELECT * FROM {{ @b }}", "b": "SELECT * FROM t", "c": "SELECT * FROM u"}
    assert ExtractJob.of("SELECT * FROM {{ @a }}", "postgres", defs).definitions == {"a": defs["a"], "b": defs["b"]}
    assert ExtractJob.of("SELECT 1", "postgres", defs).definitions == {}


def test_extractor_version_is_in_the_key(monkeypatch):
    before = cache_key("SELECT 1", "postgres")
    monkeypatch.setattr(sql_cache, "extractor_version", lambda: "changed")
    assert cache_key("SELECT 1", "postgres") != before


def test_rerun_parses_only_new_or_changed_queries(tmp_path):
    jobs = [ExtractJob.of(f"SELECT * FROM s.t{i}", "postgres") for i in range(5)]
    cache = ExtractionCache.open(tmp_path)
    first, stats = extract_all(jobs, cache)
    cache.save()
    assert stats.parsed == 5 and (tmp_path / CACHE_FILE).exists()
    changed = jobs[:4] + [ExtractJob.of("SELECT * FROM s.new", "postgres")]
    second, stats = extract_all(changed, ExtractionCache.open(tmp_path))
    assert (stats.cached, stats.parsed) == (4, 1)
    assert second[:4] == first[:4] and [r.name for r in second[4].reads] == ["new"]


def test_identical_queries_are_parsed_once():
    jobs = [ExtractJob.of("SELECT * FROM s.t", "postgres")] * 3
    extractions, stats = extract_all(jobs)
    assert stats.parsed == 1 and len(extractions) == 3


def test_corrupt_cache_file_is_ignored_with_a_warning(tmp_path, caplog):
    (tmp_path / CACHE_FILE).write_bytes(b"not parquet at all")
    with caplog.at_level(logging.WARNING, logger="lineage_utils.sql.cache"):
        cache = ExtractionCache.open(tmp_path)
    assert len(cache) == 0 and "unreadable" in caplog.text
    extractions, _ = extract_all([ExtractJob.of("SELECT * FROM s.t", "postgres")], cache)
    assert cache.save() is not None and [r.name for r in extractions[0].reads] == ["t"]
    assert len(ExtractionCache.open(tmp_path)) == 1


def test_entries_of_another_extractor_version_are_dropped(tmp_path, monkeypatch):
    cache = ExtractionCache.open(tmp_path)
    extract_all([ExtractJob.of("SELECT * FROM s.t", "postgres")], cache)
    cache.save()
    monkeypatch.setattr(sql_cache, "extractor_version", lambda: "newer")
    assert len(ExtractionCache.open(tmp_path)) == 0


def test_results_that_hit_the_time_budget_are_not_cached():
    extraction = extract_reads(TEMPLATED, "postgres", time_budget=0.0)
    assert "time budget" in extraction.reason
    cache = ExtractionCache()
    cache.put("k", extraction)
    assert cache.get("k") is None


def test_unwritable_cache_dir_is_not_fatal(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = ExtractionCache.open(blocker / "sub")
    extract_all([ExtractJob.of("SELECT * FROM s.t", "postgres")], cache)
    with caplog.at_level(logging.WARNING):
        assert cache.save() is None
    assert "could not be written" in caplog.text


def test_many_queries_are_parsed_in_worker_processes(monkeypatch):
    monkeypatch.setattr(sql_batch, "PARALLEL_THRESHOLD", 10)
    monkeypatch.setattr(sql_batch, "CHUNK_SIZE", 7)
    jobs = [ExtractJob.of(f"SELECT * FROM s.t{i} JOIN s.u ON 1=1" + " " * (i % 5), "postgres") for i in range(40)]
    extractions, stats = extract_all(jobs, workers=2)
    assert stats.workers == 2 and stats.parsed == 40
    assert extractions == [extract_reads(j.sql, j.dialect) for j in jobs]


def test_small_inputs_stay_in_process():
    _, stats = extract_all([ExtractJob.of("SELECT 1", "postgres")], workers=2)
    assert stats.workers == 1


def test_a_broken_pool_falls_back_in_process(monkeypatch, caplog):
    class Broken:
        def __init__(self, *args, **kwargs):
            raise OSError("no processes here")

    monkeypatch.setattr(sql_batch, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(sql_batch, "ProcessPoolExecutor", Broken)
    jobs = [ExtractJob.of(f"SELECT * FROM s.t{i}", "postgres") for i in range(3)]
    with caplog.at_level(logging.WARNING):
        extractions, stats = extract_all(jobs, workers=2)
    assert stats.workers == 1 and [e.reads[0].name for e in extractions] == ["t0", "t1", "t2"]
    assert "in-process" in caplog.text


@pytest.mark.parametrize("dialect", ["postgres", "snowflake", "bigquery"])
def test_cached_result_equals_fresh_result(tmp_path, dialect):
    sql = "WITH c AS (SELECT * FROM a.b) SELECT * FROM c JOIN x.y ON TRUE"
    cache = ExtractionCache.open(tmp_path)
    (fresh,), _ = extract_all([ExtractJob.of(sql, dialect)], cache)
    cache.save()
    (cached,), stats = extract_all([ExtractJob.of(sql, dialect)], ExtractionCache.open(tmp_path))
    assert stats.cached == 1 and cached == fresh
