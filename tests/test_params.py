"""Params: one schema, clear messages naming the key, paths relative to the file."""

from __future__ import annotations

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
