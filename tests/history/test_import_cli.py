"""``python -m lineage_utils.history import DIR``: a folder of archives, one bad file among them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from lineage_utils.history.__main__ import EXIT_BAD_FILES, EXIT_FAILED, EXIT_OK, main
from tests.history.builders import table_rows, write_run_results

NODES = [("model.p.a", "success", 1.0), ("model.p.b", "error", 2.0)]


def _archive(root):
    write_run_results(root / "2026-10-01" / "run_results.json", "inv-1", "2026-10-01", NODES)
    write_run_results(root / "deep" / "er" / "run_results.json.gz", "inv-2", "2026-10-02", NODES)
    (root / "2026-10-01" / "manifest.json").write_text(json.dumps(
        {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"}}))
    (root / "notes.txt").write_text("not json, not looked at")
    return root


def test_one_bad_file_is_named_with_its_reason_and_the_others_are_imported(tmp_path, capsys):
    archive = _archive(tmp_path / "archive")
    (archive / "broken.json").write_text('{"metadata": {"invocation_id": "x"}, "results": [')
    store = tmp_path / "history.duckdb"
    assert main(["import", str(archive), "--store", str(store)]) == EXIT_BAD_FILES
    out = capsys.readouterr().out
    assert f"BAD     {archive / 'broken.json'}: malformed JSON at line 1" in out
    assert f"added   {archive / 'deep' / 'er' / 'run_results.json.gz'}: invocation inv-2 (2 nodes)" in out
    assert f"skipped {archive / '2026-10-01' / 'manifest.json'}: a dbt manifest artifact, not run_results" in out
    assert out.rstrip().endswith("2 added, 1 skipped, 1 bad")
    assert table_rows(store, "invocations") == 2


def test_a_run_results_without_an_invocation_id_is_bad(tmp_path, capsys):
    archive = _archive(tmp_path / "archive")
    (archive / "old.json").write_text(json.dumps({"metadata": {}, "results": []}))
    assert main(["import", str(archive), "--store", str(tmp_path / "h.duckdb")]) == EXIT_BAD_FILES
    assert "old.json: no metadata.invocation_id" in capsys.readouterr().out


def test_a_clean_folder_exits_0_and_a_copy_of_the_same_invocation_is_skipped(tmp_path, capsys):
    archive = _archive(tmp_path / "archive")
    shutil.copy(archive / "2026-10-01" / "run_results.json", archive / "copy.json")
    assert main(["import", str(archive), "--store", str(tmp_path / "h.duckdb")]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.count("invocation inv-1") == 2 and "inv-1 already stored" in out


def test_a_missing_folder_imports_nothing_and_exits_2(tmp_path, capsys):
    assert main(["import", str(tmp_path / "nope"), "--store", str(tmp_path / "h.duckdb")]) == EXIT_FAILED
    assert "folder not found" in capsys.readouterr().err
    assert not (tmp_path / "h.duckdb").exists()


def test_the_store_comes_from_history_path_of_the_params_file(tmp_path, capsys):
    archive = _archive(tmp_path / "archive")
    params = tmp_path / "params" / "p.yaml"
    params.parent.mkdir()
    params.write_text("history:\n  path: ../store/h.duckdb\n")
    assert main(["import", str(archive), "--params", str(params)]) == EXIT_OK
    assert table_rows(tmp_path / "store" / "h.duckdb", "invocations") == 2


def test_the_module_runs_as_a_command(tmp_path, repo_root):
    archive = _archive(tmp_path / "archive")
    done = subprocess.run([sys.executable, "-m", "lineage_utils.history", "import", str(archive),
                           "--store", str(tmp_path / "h.duckdb")], cwd=repo_root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "2 added, 1 skipped, 0 bad" in done.stdout
