"""The notebook-chain runner: real papermill kernels on tiny fixture notebooks.

The fixture notebooks (tests/fixtures/notebooks) are committed without outputs:
ok_a and ok_b write parts of data/summary.json, broken raises ValueError("boom") in its
third code cell (labelled ``#papermill_description=explode``), never_reached must not run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

import run_all
from lineage_utils.errors import ChainError, ParamsError
from lineage_utils.kernels import runs_this_interpreter
from lineage_utils.runner import ChainFailed, new_run_id, run_chain

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def write_params(folder: Path) -> Path:
    """A tiny params file; its runs go to ``folder/runs``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "params.yaml"
    path.write_text("run:\n  runs_dir: runs\n", encoding="utf-8")
    return path


def chain(params: Path, notebooks: tuple[str, ...], **kwargs):
    return run_chain(
        params, notebooks_dir=FIXTURES, notebooks=notebooks, progress=False, **kwargs
    )


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hrefs: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href"]


def page(path: Path) -> _Text:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def page_text(path: Path) -> str:
    return " ".join(" ".join(page(path).parts).split())


# --------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.ipynb")), ids=lambda p: p.stem)
def test_fixture_notebooks_are_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert "papermill" not in nb.metadata


# --------------------------------------------------------------------- run ids


def test_new_run_id_is_a_utc_timestamp():
    cet = timezone(timedelta(hours=1))
    assert new_run_id(datetime(2026, 11, 25, 11, 3, 56, tzinfo=UTC)) == "20261125T110356Z"
    assert new_run_id(datetime(2026, 11, 25, 12, 3, 56, tzinfo=cet)) == "20261125T110356Z"
    assert new_run_id(datetime(2026, 11, 25, 11, 3, 56)) == "20261125T110356Z"  # naive = UTC


def test_new_run_id_is_unique_within_runs_dir(tmp_path):
    now = datetime(2026, 11, 25, 11, 3, 56, tzinfo=UTC)
    assert new_run_id(now, tmp_path) == "20261125T110356Z"
    (tmp_path / "20261125T110356Z").mkdir()
    assert new_run_id(now, tmp_path) == "20261125T110356Z-2"
    (tmp_path / "20261125T110356Z-2").mkdir()
    assert new_run_id(now, tmp_path) == "20261125T110356Z-3"


@pytest.mark.slow  # notebook kernels
def test_two_runs_in_the_same_second_get_their_own_folders(tmp_path):
    params = write_params(tmp_path)
    first = chain(params, ("ok_b",))
    second = chain(params, ("ok_b",))
    assert first.run_dir != second.run_dir
    assert first.run_dir.parent == second.run_dir.parent == tmp_path / "runs"


# ------------------------------------------------------------------ a good chain


@pytest.fixture(scope="module")
def ok_run(tmp_path_factory):
    params = write_params(tmp_path_factory.mktemp("ok"))
    return chain(params, ("ok_a", "ok_b"))


@pytest.mark.slow  # notebook kernels
def test_ok_chain_executes_every_notebook_into_the_run_folder(ok_run):
    run_dir = ok_run.run_dir
    assert ok_run.executed == ("ok_a", "ok_b")
    assert ok_run.failed is None
    assert run_dir.name == ok_run.run_id
    for name in ("ok_a", "ok_b"):
        executed = nbformat.read(run_dir / f"{name}.ipynb", as_version=4)
        assert all(c.get("execution_count") for c in executed.cells if c.cell_type == "code")
        assert (run_dir / f"{name}.html").is_file()
    assert (run_dir / "params.yaml").is_file()
    assert (run_dir / "index.html").is_file()
    assert (run_dir.parent / "index.html").is_file()


@pytest.mark.slow  # notebook kernels
def test_ok_chain_injects_only_the_params_file_and_run_folder(ok_run):
    executed = nbformat.read(ok_run.run_dir / "ok_a.ipynb", as_version=4)
    assert executed.metadata.papermill.parameters == {
        "params_path": str(ok_run.run_dir / "params.yaml"),
        "run_dir": str(ok_run.run_dir),
    }


@pytest.mark.slow  # notebook kernels
def test_ok_chain_writes_the_effective_params(ok_run):
    effective = (ok_run.run_dir / "params.yaml").read_text(encoding="utf-8")
    assert str(ok_run.run_dir.parent) in effective  # run.runs_dir, made absolute


@pytest.mark.slow  # notebook kernels
def test_kernel_is_the_running_interpreter(ok_run):
    kernel = json.loads((ok_run.run_dir / "data" / "kernel.json").read_text())
    assert kernel["prefix"] == sys.prefix
    assert kernel["executable"] == sys.executable


@pytest.mark.slow  # notebook kernels
def test_ok_chain_records_a_complete_run(ok_run):
    record = json.loads((ok_run.run_dir / "run.json").read_text())
    assert record["status"] == "complete"
    assert record["run_id"] == ok_run.run_id
    assert record["notebooks"] == ["ok_a", "ok_b"]
    assert record["failed_notebook"] is None and record["failed_cell"] is None
    assert record["started_at"] <= record["finished_at"]


@pytest.mark.slow  # notebook kernels
def test_run_index_shows_the_summary_numbers_and_links(ok_run):
    index = ok_run.run_dir / "index.html"
    text = page_text(index)
    assert ok_run.run_id in text
    assert "complete" in text
    assert "Models 1,234" in text
    assert "BI reports 56" in text
    assert "Stale reports 7" in text
    assert "Orphan models 3" in text
    assert "Reference resolution rate 87.5 %" in text
    assert "Crawl complete yes" in text
    assert "BI queries —" in text  # missing keys show a dash
    hrefs = page(index).hrefs
    assert {"ok_a.html", "ok_b.html", "data/summary.json", "../index.html"} <= set(hrefs)
    for href in hrefs:  # every link stays inside the run folder (or goes up to the list)
        assert not href.startswith(("/", "http")) and str(ok_run.run_dir) not in href
        assert (index.parent / href.split("#")[0]).exists()


@pytest.mark.slow  # notebook kernels
def test_outside_text_from_the_summary_is_escaped(ok_run):
    html = (ok_run.run_dir / "index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.slow  # notebook kernels
def test_runs_index_links_the_run(ok_run):
    runs_index = ok_run.run_dir.parent / "index.html"
    assert f"{ok_run.run_id}/index.html" in page(runs_index).hrefs
    assert "complete" in page_text(runs_index)


@pytest.mark.slow  # notebook kernels
def test_notebook_html_hides_tagged_inputs_and_embeds_images(ok_run):
    html = (ok_run.run_dir / "ok_a.html").read_text(encoding="utf-8")
    assert "HIDDEN_PLUMBING_MARKER" not in html  # remove_input
    assert "effective params file of the run" not in html  # parameters cell
    assert "data:image/png;base64," in html
    assert "Fixture A" in html


# --------------------------------------------------------------- a failing chain


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    params = write_params(tmp_path_factory.mktemp("failed"))
    with pytest.raises(ChainFailed) as info:
        chain(params, ("ok_a", "broken", "never_reached"))
    return info.value


@pytest.mark.slow  # notebook kernels
def test_failure_message_names_notebook_cell_and_error(failed_run):
    message = str(failed_run)
    assert "broken" in message
    assert "cell 5" in message  # 1-based, in the executed notebook (after injected params)
    assert "'explode'" in message  # the #papermill_description= label
    assert "In [4]" in message
    assert "ValueError: boom" in message
    assert isinstance(failed_run, ChainError)


@pytest.mark.slow  # notebook kernels
def test_failure_stops_the_chain(failed_run):
    result = failed_run.result
    assert result.executed == ("ok_a", "broken")
    assert result.failed is not None and result.failed.notebook == "broken"
    assert not (result.run_dir / "never_reached.ipynb").exists()
    assert not (result.run_dir / "never_reached.txt").exists()


@pytest.mark.slow  # notebook kernels
def test_failure_still_renders_what_ran(failed_run):
    run_dir = failed_run.result.run_dir
    assert (run_dir / "ok_a.html").is_file()
    broken = (run_dir / "broken.html").read_text(encoding="utf-8")
    assert "before the failure" in broken  # partial outputs
    assert "boom" in broken
    assert not (run_dir / "never_reached.html").exists()


@pytest.mark.slow  # notebook kernels
def test_failure_is_recorded_and_indexed(failed_run):
    run_dir = failed_run.result.run_dir
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "failed"
    assert record["failed_notebook"] == "broken"
    assert record["failed_cell"] == 5
    text = page_text(run_dir / "index.html")
    assert "failed" in text and "explode" in text and "ValueError: boom" in text
    assert "never_reached not run" in text
    runs_text = page_text(run_dir.parent / "index.html")
    assert "failed" in runs_text and "broken" in runs_text


# ----------------------------------------------------------- selection, params


@pytest.mark.slow  # notebook kernels
def test_only_runs_the_named_notebooks(tmp_path):
    result = chain(write_params(tmp_path), ("ok_a", "ok_b"), only=["ok_b"])
    assert result.executed == ("ok_b",)
    assert not (result.run_dir / "ok_a.ipynb").exists()
    assert json.loads((result.run_dir / "run.json").read_text())["notebooks"] == ["ok_b"]


def test_only_with_an_unknown_name_fails_before_anything_is_created(tmp_path):
    params = write_params(tmp_path)
    with pytest.raises(ChainError) as info:
        chain(params, ("ok_a", "ok_b"), only=["ok_b,nope"])
    message = str(info.value)
    assert "nope" in message and "ok_a, ok_b" in message
    assert not (tmp_path / "runs").exists()


def test_bad_params_create_nothing(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("run:\n  runs_dir: runs\nstaleness:\n  last_run_days: soon\n")
    with pytest.raises(ParamsError, match="staleness.last_run_days"):
        chain(params, ("ok_a",))
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow  # notebook kernels
def test_runs_dir_argument_wins_over_params(tmp_path):
    result = chain(write_params(tmp_path / "p"), ("ok_b",), runs_dir=tmp_path / "elsewhere")
    assert result.run_dir.parent == tmp_path / "elsewhere"
    assert str(tmp_path / "elsewhere") in (result.run_dir / "params.yaml").read_text()


# ------------------------------------------------------------------------ kernel


def test_kernelspec_commands_that_run_this_interpreter():
    major, minor = sys.version_info[:2]
    assert runs_this_interpreter("python")
    assert runs_this_interpreter(f"python{major}.{minor}")
    assert runs_this_interpreter(sys.executable)
    assert not runs_this_interpreter("/usr/bin/elsewhere/python3")


@pytest.mark.slow  # notebook kernels
def test_a_foreign_python3_kernelspec_is_overridden_for_the_run(tmp_path, monkeypatch):
    foreign = tmp_path / "jupyter" / "kernels" / "python3"
    foreign.mkdir(parents=True)
    (foreign / "kernel.json").write_text(
        json.dumps(
            {
                "argv": ["/nonexistent/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Someone else's Python",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    result = chain(write_params(tmp_path), ("ok_a",))
    kernel = json.loads((result.run_dir / "data" / "kernel.json").read_text())
    assert kernel["prefix"] == sys.prefix
    assert os.environ["JUPYTER_PATH"] == str(tmp_path / "jupyter")  # restored


# ------------------------------------------------------------------------ CLI


def test_cli_bad_params_file_exits_1_with_one_clear_message(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    assert run_all.main(["--params", str(missing), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert str(missing) in err
    assert "Traceback" not in err


def test_cli_unknown_only_exits_1_naming_it(tmp_path, capsys):
    params = write_params(tmp_path)
    assert run_all.main(["--params", str(params), "--only", "05_nope", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "error: " in err and "05_nope" in err and "01_crawl" in err


def test_cli_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        run_all.main(["--no-such-flag"])
    assert info.value.code == 2


@pytest.mark.slow  # notebook kernels
def test_cli_runs_a_chain_and_prints_the_run_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(run_all, "NOTEBOOKS", ("ok_a", "ok_b"))
    monkeypatch.setattr(run_all, "DEFAULT_NOTEBOOKS_DIR", FIXTURES)
    params = write_params(tmp_path)
    code = run_all.main(["--params", str(params), "--only", "ok_b", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    run_dirs = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert len(run_dirs) == 1
    assert str(run_dirs[0]) in out and str(run_dirs[0] / "index.html") in out


@pytest.mark.slow  # notebook kernels
def test_cli_failing_chain_exits_1_naming_notebook_and_cell(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(run_all, "NOTEBOOKS", ("ok_b", "broken", "never_reached"))
    monkeypatch.setattr(run_all, "DEFAULT_NOTEBOOKS_DIR", FIXTURES)
    code = run_all.main(["--params", str(write_params(tmp_path)), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: notebook broken failed at cell 5")
    assert "ValueError: boom" in last


# --------------------------------------------------------------- killed runs (issue 16)


def sleepy_notebooks(folder: Path) -> Path:
    """A chain whose 01_crawl says it started (data/sleeping.txt), then sleeps for minutes."""
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('params_path: str = ""\nrun_dir: str = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import pathlib, time\npathlib.Path(run_dir, 'data', 'sleeping.txt').write_text('zzz')\ntime.sleep(300)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "01_crawl.ipynb")
    return folder


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.slow  # notebook kernels
def test_a_run_killed_with_sigkill_is_marked_interrupted_by_the_next_run(tmp_path):
    params = write_params(tmp_path)
    runs = tmp_path / "runs"
    process = subprocess.Popen(
        [sys.executable, str(Path(run_all.__file__)), "--params", str(params), "--no-progress",
         "--notebooks-dir", str(sleepy_notebooks(tmp_path / "nb")), "--only", "01_crawl"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: any(runs.glob("*/data/sleeping.txt")), 120, "the notebook to start")
        (killed,) = [p for p in runs.iterdir() if p.is_dir()]
        assert json.loads((killed / "run.json").read_text())["pid"] == process.pid
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert json.loads((killed / "run.json").read_text())["status"] == "running"  # it could not say more

        chain(params, ("ok_b",))  # the next run

        record = json.loads((killed / "run.json").read_text())
        assert record["status"] == "interrupted"
        assert f"process {process.pid} ended during 01_crawl" in record["interruption"]
        assert "interrupted" in page_text(killed / "index.html")
        runs_text = page_text(runs / "index.html")
        assert f"{killed.name} interrupted" in runs_text and "complete" in runs_text
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the kernel it left behind, in its own session
        except ProcessLookupError:
            pass


def test_runs_dir_that_is_a_file_is_refused_before_anything_is_created(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("run:\n  runs_dir: runs\n")
    (tmp_path / "runs").write_text("not a folder")
    with pytest.raises(ParamsError, match=f"params key 'run.runs_dir': {tmp_path / 'runs'} is a file, not a folder"):
        chain(params, ("ok_a",))
    params.write_text("run:\n  runs_dir: runs/deeper\n")
    with pytest.raises(ParamsError, match=f"cannot be created: {tmp_path / 'runs'} is a file"):
        chain(params, ("ok_a",))
    assert (tmp_path / "runs").read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_runs_dir_is_refused_naming_it(tmp_path):
    params = write_params(tmp_path)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs").chmod(0o500)
    try:
        with pytest.raises(ParamsError, match=f"{tmp_path / 'runs'} is not writable"):
            chain(params, ("ok_a",))
    finally:
        (tmp_path / "runs").chmod(0o700)


def test_cli_runs_dir_that_is_a_file_exits_1_with_one_message(tmp_path, capsys):
    params = write_params(tmp_path)
    (tmp_path / "runs").write_text("x")
    assert run_all.main(["--params", str(params), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(tmp_path / "runs") in err and len(err.strip().splitlines()) == 1


def test_cli_binary_params_file_exits_1_naming_it(tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_bytes(b"\x00\x01\x02\xff")
    assert run_all.main(["--params", str(params), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {params}: a binary file") and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_run_stage_refuses_a_stage_whose_predecessors_have_not_run(tmp_path):
    from lineage_utils.runner import run_stage, start_run

    from tests.conftest import DEMO_PARAMS

    run_dir = start_run(DEMO_PARAMS, runs_dir=tmp_path / "runs")
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "running" and record["executed"] == [] and (run_dir / "params.yaml").is_file()
    with pytest.raises(ChainError, match=rf"run {run_dir.name}: 02_merge needs 01_crawl to have run first"):
        run_stage(run_dir, "02_merge")
    with pytest.raises(ChainError, match=r"has no notebook '05_extra'"):
        run_stage(run_dir, "05_extra")
