"""One JSON normaliser, one reader that names its faults, one first-line helper."""

from __future__ import annotations

import gzip
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from lineage_utils.errors import ArtifactError, first_line
from lineage_utils.jsonio import dumps_json, read_json, to_jsonable


def test_values_become_plain_json():
    moment = datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert to_jsonable({"t": moment, "s": {"b", "a"}, "p": Path("/x"), "n": math.nan, "a": np.array([1, 2]),
                        "tup": (1, (2,))}) == {"t": "2026-11-01T00:00:00+00:00", "s": ["a", "b"], "p": "/x",
                                               "n": None, "a": [1, 2], "tup": [1, [2]]}
    assert dumps_json({"b": 1, "a": "é"}) == '{\n "a": "é",\n "b": 1\n}\n'
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        to_jsonable(object())


def test_read_json_names_file_and_position(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{\n  "a": }')
    with pytest.raises(ArtifactError, match=rf"{path}: malformed JSON at line 2, column 8"):
        read_json(path)
    with pytest.raises(ArtifactError, match="file not found"):
        read_json(tmp_path / "nothing.json")


def test_read_json_reads_gzip_and_names_garbage(tmp_path):
    good, bad = tmp_path / "m.json.gz", tmp_path / "bad.json.gz"
    good.write_bytes(gzip.compress(b'{"a": 1}'))
    bad.write_bytes(b"not gzip at all")
    assert read_json(good) == {"a": 1}
    with pytest.raises(ArtifactError, match=rf"{bad}: cannot be read"):
        read_json(bad)


def test_first_line_of_text_and_exceptions():
    assert first_line("\n\n  boom here \nsecond") == "boom here"
    assert first_line(ValueError("")) == "ValueError" and first_line(KeyError("k")) == "'k'"
    assert first_line("x" * 300, 10) == "xxxxxxx..." and first_line("") == ""


def test_corrupt_gzip_data_names_the_file(tmp_path):
    import gzip

    from lineage_utils.errors import ArtifactError
    from lineage_utils.jsonio import read_json

    path = tmp_path / "manifest.json.gz"
    path.write_bytes(gzip.compress(b'{"a": 1}', mtime=0)[:10] + b"\xff" * 32)  # a gzip header over garbage
    with pytest.raises(ArtifactError, match=rf"{path}: cannot be read"):
        read_json(path)


def test_gc_paused_turns_the_collector_back_on_however_the_block_ends():
    import gc

    from lineage_utils.jsonio import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), gc_paused(freeze=True):
        raise ValueError("boom")
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with gc_paused(freeze=True):
        kept = [{"n": i} for i in range(1000)]
    assert gc.get_freeze_count() > frozen and gc.isenabled() and len(kept) == 1000
    gc.unfreeze()
