"""Params: one schema, clear messages naming the key, paths relative to the file."""

from __future__ import annotations

import re

import time
from pathlib import Path

import pytest

from lineage_utils.errors import ParamsError
from lineage_utils.params import SCHEMA, load_params, params_table_markdown


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_demo_params_load(repo_root):
    params = load_params(repo_root / "params" / "default.yaml")
    assert params["bi.source"] == "snapshot"
    assert Path(params["bi.snapshot_dir"]).is_dir()
    assert params.now().isoformat() == "2026-11-01T00:00:00+00:00"


def test_defaults_fill_missing_keys(tmp_path):
    params = load_params(write(tmp_path, "dbt: {build: false}\n"))
    assert params["staleness.last_run_days"] == 100
    assert params["protection.tags"] == ["keep"]


def test_unknown_key_suggests_closest(tmp_path):
    path = write(tmp_path, "staleness:\n  last_run_dayz: 3\n")
    with pytest.raises(ParamsError, match=r"unknown params key 'staleness.last_run_dayz'.*did you mean 'staleness.last_run_days'"):
        load_params(path)


def test_unknown_section_is_named(tmp_path):
    with pytest.raises(ParamsError, match=r"unknown params key 'stalenes'.*staleness"):
        load_params(write(tmp_path, "stalenes: {now: ''}\n"))


def test_bad_value_names_key_and_file(tmp_path):
    path = write(tmp_path, "staleness: {last_run_days: many}\n")
    with pytest.raises(ParamsError) as info:
        load_params(path)
    assert "staleness.last_run_days" in str(info.value) and str(path) in str(info.value)


def test_bad_choice_lists_choices(tmp_path):
    with pytest.raises(ParamsError, match="snapshot, mode_api"):
        load_params(write(tmp_path, "bi: {source: metabase}\n"))


def test_invalid_yaml_gives_position(tmp_path):
    with pytest.raises(ParamsError, match=r"line \d+, column \d+"):
        load_params(write(tmp_path, "dbt:\n  build: [true\n"))


def test_dates_stay_strings(tmp_path):
    params = load_params(write(tmp_path, "staleness: {now: 2026-01-02T03:04:05Z}\n"))
    assert params["staleness.now"] == "2026-01-02T03:04:05Z"


def test_paths_resolve_against_params_folder(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    params = load_params(write(tmp_path, "dbt: {target_dir: sub/target}\n"))
    assert params["dbt.target_dir"] == str(tmp_path / "sub" / "target")


def test_set_overrides_convert_types(tmp_path):
    params = load_params(write(tmp_path, ""), ["staleness.last_run_days=30", "dbt.build=yes",
                                              "protection.tags=a,b", "bi.data_sources={'1': {search_path: [x]}}"])
    assert params["staleness.last_run_days"] == 30
    assert params["dbt.build"] is True
    assert params["protection.tags"] == ["a", "b"]
    assert params.data_source_config(1) == {"search_path": ["x"]}


def test_set_unknown_key_fails(tmp_path):
    with pytest.raises(ParamsError, match="did you mean 'cleanup.apply'"):
        load_params(write(tmp_path, ""), ["cleanup.aply=true"])


def test_data_source_entry_keys_checked(tmp_path):
    with pytest.raises(ParamsError, match=r"bi.data_sources.1001.*did you mean 'search_path'"):
        load_params(write(tmp_path, "bi:\n  data_sources:\n    '1001': {search_paths: [a]}\n"))


def test_missing_params_file(tmp_path):
    with pytest.raises(ParamsError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")


def test_write_effective_round_trips(tmp_path, repo_root):
    params = load_params(repo_root / "params" / "default.yaml", ["staleness.last_run_days=7"])
    out = tmp_path / "run" / "params.yaml"
    params.write_effective(out)
    again = load_params(out)
    assert dict(again.values) == dict(params.values)


def test_readme_documents_every_key(repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    assert params_table_markdown() in readme, "README params table is out of date: paste params_table_markdown()"
    for spec in SCHEMA:
        assert f"`{spec.key}`" in readme


# ------------------------------------------------------------------ ranges (issue 15)


@pytest.mark.parametrize("setting, message", [
    ("staleness.last_run_days=-5", "params key 'staleness.last_run_days': -5 is below the minimum 0"),
    ("bi.rate_limit=-1", "params key 'bi.rate_limit': -1.0 is below the minimum 0"),
    ("staleness.low_usage_runs=-1", "params key 'staleness.low_usage_runs': -1 is below the minimum 0"),
    ("staleness.low_usage_views=-3", "params key 'staleness.low_usage_views': -3 is below the minimum 0"),
    ("bi.max_retries=-1", "params key 'bi.max_retries': -1 is below the minimum 0"),
    ("bi.workers=0", "params key 'bi.workers': 0 is below the minimum 1"),
    ("sql.workers=0", "params key 'sql.workers': 0 is below the minimum 1"),
    ("bi.workers=65", "params key 'bi.workers': 65 is above the maximum 64"),
    ("bi.timeout=nan", "params key 'bi.timeout': expected a finite number, got 'nan'"),
    ("bi.rate_limit=inf", "params key 'bi.rate_limit': expected a finite number, got 'inf'"),
    ("staleness.last_run_days=2.5", "params key 'staleness.last_run_days': expected a whole number, got '2.5'"),
])
def test_out_of_range_numbers_are_refused_naming_the_key(tmp_path, setting, message):
    path = write(tmp_path, "")
    with pytest.raises(ParamsError) as info:
        load_params(path, [setting])
    assert message in str(info.value) and str(path) in str(info.value)


def test_out_of_range_in_the_file_names_file_and_key(tmp_path):
    path = write(tmp_path, "staleness:\n  last_run_days: -5\n")
    with pytest.raises(ParamsError, match=r"p\.yaml: params key 'staleness\.last_run_days': -5 is below the minimum 0"):
        load_params(path)


def test_a_whole_float_is_accepted_for_an_int(tmp_path):
    assert load_params(write(tmp_path, "bi: {workers: 4.0}\n"))["bi.workers"] == 4


# ------------------------------------------------------- hostile params files (issue 15)


@pytest.mark.parametrize("text", [
    "bi:\n  source: '" + "x" * 100_000 + "'\n",
    "staleness:\n  last_run_days: '" + "9" * 100_000 + "'\n",
    "bi:\n  workers: [" + ", ".join(["123456789"] * 2_000) + "]\n",
    "protection:\n  tags: {" + ", ".join(f"k{i}: {i}" for i in range(2_000)) + "}\n",
    "? stalenes" + "s" * 50_000 + "\n: {}\n",  # an explicit key: implicit ones stop at 1024 characters
])
def test_long_values_are_echoed_truncated(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(ParamsError) as info:
        load_params(path)
    message = str(info.value).replace(str(path), "")
    assert len(message) < 250, message


BILLION_LAUGHS = """\
protection:
  selectors: &a9 [&a8 [&a7 [&a6 [&a5 [&a4 [&a3 [&a2 [&a1 [&a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol],
    *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0], *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1],
    *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2], *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3],
    *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4], *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5],
    *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6], *a7, *a7, *a7, *a7, *a7, *a7, *a7, *a7],
    *a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8]
"""


def test_a_yaml_bomb_is_refused_quickly_naming_the_file(tmp_path):
    path = write(tmp_path, BILLION_LAUGHS)
    started = time.perf_counter()
    with pytest.raises(ParamsError) as info:
        load_params(path)
    assert time.perf_counter() - started < 1.0
    assert str(path) in str(info.value) and "aliases" in str(info.value)


def test_a_recursive_alias_is_refused(tmp_path):
    with pytest.raises(ParamsError, match="recursive alias"):
        load_params(write(tmp_path, "protection:\n  selectors: &a [*a]\n"))


def test_a_few_aliases_still_work(tmp_path):
    text = "bi:\n  data_sources:\n    '1': &ds {search_path: [marts]}\n    '2': *ds\n"
    params = load_params(write(tmp_path, text))
    assert params.data_source_config(2) == {"search_path": ["marts"]}


def test_yaml_nested_too_deep_is_refused(tmp_path):
    with pytest.raises(ParamsError, match=r"p\.yaml.*invalid YAML"):
        load_params(write(tmp_path, "protection:\n  selectors: " + "[" * 1000 + "]" * 1000 + "\n"))


@pytest.mark.parametrize("content, message", [
    (b"run:\n  runs_dir: runs\n\x00\x01\x02binary", "a binary file (NUL bytes)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a binary file (NUL bytes)"),
    (b"bi:\n  workspace: caf\xe9\n", "not UTF-8 text (byte 20)"),
    (b"#" * (2 << 20), "larger than 1024 KiB"),
])
def test_binary_or_huge_params_files_are_refused_naming_the_path(tmp_path, content, message):
    path = tmp_path / "p.yaml"
    path.write_bytes(content)
    with pytest.raises(ParamsError) as info:
        load_params(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_a_folder_as_params_file_is_named(tmp_path):
    with pytest.raises(ParamsError, match=f"params file {tmp_path} is a folder"):
        load_params(tmp_path)


def test_a_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_bytes("\ufeffstaleness: {last_run_days: 7}\n".encode())
    assert load_params(path)["staleness.last_run_days"] == 7


@pytest.mark.parametrize("how", ["file", "override"])
def test_cleanup_apply_without_kinds_is_refused(tmp_path, how):
    path = write(tmp_path, "cleanup: {apply: true}\n" if how == "file" else "")
    with pytest.raises(ParamsError) as info:
        load_params(path, ["cleanup.apply=yes"] if how == "override" else [])
    message = str(info.value)
    assert "params key 'cleanup.apply' is on but 'cleanup.apply_kinds' is empty" in message and "dry run" in message
    assert str(path) in message


@pytest.mark.parametrize("settings,key", [
    ({"cleanup.apply_kinds": "[deletion_pr]"}, "github.repo"),
    ({"cleanup.apply_kinds": "[exposures_pr]", "github.repo": "o/r", "git.remote": ""}, "git.remote"),
    ({"cleanup.apply_kinds": "[archive]"}, "bi.source"),
    ({"cleanup.apply_kinds": "[delete_archived]"}, "bi.source"),
    ({"cleanup.apply_kinds": "[archive]", "bi.source": "mode_api", "publish.base_url": "ftp://x"}, "publish.base_url"),
])
def test_each_apply_kind_needs_the_settings_it_acts_through(tmp_path, settings, key):
    path = write(tmp_path, "")
    with pytest.raises(ParamsError, match=f"params key '{re.escape(key)}'"):
        load_params(path, ["cleanup.apply=true"] + [f"{k}={v}" for k, v in settings.items()])


def test_apply_with_its_settings_loads(tmp_path):
    params = load_params(write(tmp_path, ""), ["cleanup.apply=true", "cleanup.apply_kinds=[deletion_pr, archive]",
                                               "github.repo=o/r", "bi.source=mode_api"])
    assert params["cleanup.apply"] is True and params["cleanup.apply_kinds"] == ["deletion_pr", "archive"]


def test_data_source_and_dialect_values_must_be_text(tmp_path):
    with pytest.raises(ParamsError, match=r"bi.data_sources.1.dialect': expected text"):
        load_params(write(tmp_path, "bi: {data_sources: {'1': {dialect: [postgres]}}}\n"))
    with pytest.raises(ParamsError, match=r"sql.dialects.jdbc:x': expected a sqlglot dialect name"):
        load_params(write(tmp_path, "sql: {dialects: {'jdbc:x': {a: 1}}}\n"))


def test_an_unknown_apply_kind_is_refused_naming_the_valid_ones(tmp_path):
    from lineage_utils.params import build_params

    with pytest.raises(ParamsError, match=r"'cleanup.apply_kinds': 'push' is not one of deletion_pr, exposures_pr, "
                                          r"archive, delete_archived"):
        build_params({"cleanup": {"apply_kinds": ["archive", "push"]}}, tmp_path)
    assert build_params({"cleanup": {"apply_kinds": ["archive"]}}, tmp_path)["cleanup.apply_kinds"] == ["archive"]


def test_write_effective_keeps_a_long_path_on_its_keys_line(tmp_path, repo_root):
    deep = tmp_path / ("a-rather-long-folder-name-" * 6) / "runs"
    params = load_params(repo_root / "params" / "default.yaml", [f"run.runs_dir={deep}"])
    out = tmp_path / "params.yaml"
    params.write_effective(out)
    assert f"  runs_dir: {deep}\n" in out.read_text()
    assert load_params(out)["run.runs_dir"] == str(deep)
