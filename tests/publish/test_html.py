"""HTML publishing: offline notebook pages, the run index, the list of runs."""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lineage_utils.publish.html import (
    find_external_resources,
    format_value,
    render_notebook,
    write_run_index,
    write_runs_index,
)
from lineage_utils.publish.record import FailureInfo, RunRecord, read_run_record, settle_abandoned, write_run_record
from lineage_utils.publish.run_dirs import RUN_LOCK, hold_run_lock

PNG_1PX = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
EVIL = "<script>alert(1)</script>"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class _Fetches(HTMLParser):
    """Independent of the code under test: every URL a browser would load."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts.append(attrs.get("src") or "")
        for name in ("src", "href"):
            if tag in {"script", "link", "img", "iframe"} and attrs.get(name):
                self.urls.append(attrs[name])


def fetched(html: str) -> _Fetches:
    parser = _Fetches()
    parser.feed(html)
    return parser


def remote(urls: list[str]) -> list[str]:
    return [u for u in urls if u.strip().lower().startswith(("http:", "https:", "//"))]


@pytest.fixture
def executed_notebook(tmp_path) -> Path:
    """A notebook as papermill leaves it, built by hand (no kernel needed)."""
    params = new_code_cell('params_path: str = ""  # SECRET_LOOKING_DEFAULT', execution_count=1)
    params.metadata["tags"] = ["parameters"]
    injected = new_code_cell('params_path = "/runs/x/params.yaml"', execution_count=2)
    injected.metadata["tags"] = ["injected-parameters"]
    plumbing = new_code_cell("PLUMBING_SOURCE = open_run(run_dir)", execution_count=3)
    plumbing.metadata["tags"] = ["remove_input"]
    plumbing.outputs = [new_output("stream", name="stdout", text="PLUMBING_OUTPUT\n")]
    chart = new_code_cell("VISIBLE_SOURCE = show_chart()", execution_count=4)
    chart.outputs = [
        new_output("display_data", data={"image/png": PNG_1PX, "text/plain": "<Figure>"})
    ]
    dropped = new_code_cell("DROPPED_CELL = 1", execution_count=5)
    dropped.metadata["tags"] = ["remove_cell"]
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Report title\n\nSome math: $e^{i\\pi} + 1 = 0$"),
            params,
            injected,
            plumbing,
            chart,
            dropped,
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    path = tmp_path / "01_demo.ipynb"
    nbformat.write(nb, path)
    return path


# ------------------------------------------------------------------ notebooks


def test_rendered_notebook_loads_nothing_from_the_network(executed_notebook, tmp_path):
    html_path = tmp_path / "01_demo.html"
    render_notebook(executed_notebook, html_path)
    html = html_path.read_text(encoding="utf-8")
    found = fetched(html)
    assert remote(found.urls) == []
    # no require.js, MathJax, mermaid or widget manager: one inline script, the page's own (tables sort and filter)
    assert found.scripts == [""] and 'document.querySelectorAll("table.metapipeline-table")' in html
    assert "url(http" not in html.replace(" ", "") and "@import" not in html
    assert not any(cdn in html for cdn in ("cdnjs", "unpkg.com", "jsdelivr", "mathjax@", "require.min.js"))
    assert find_external_resources(html) == []


def test_rendered_notebook_embeds_images(executed_notebook, tmp_path):
    html_path = tmp_path / "01_demo.html"
    render_notebook(executed_notebook, html_path)
    assert f"data:image/png;base64,{PNG_1PX}" in html_path.read_text(encoding="utf-8")


def test_rendered_notebook_shows_outputs_and_no_code(executed_notebook, tmp_path):
    html_path = tmp_path / "01_demo.html"
    render_notebook(executed_notebook, html_path)
    html = html_path.read_text(encoding="utf-8")
    assert "Report title" in html
    assert "PLUMBING_OUTPUT" in html and f"data:image/png;base64,{PNG_1PX}" in html  # outputs stay
    for hidden in ("PLUMBING_SOURCE", "VISIBLE_SOURCE", "SECRET_LOOKING_DEFAULT", "/runs/x/params.yaml",
                   "DROPPED_CELL", "In&nbsp;[", "In [4]"):
        assert hidden not in html  # no code, no prompts: the page is for the reader of the findings


def test_render_writes_atomically_and_replaces(executed_notebook, tmp_path):
    html_path = tmp_path / "out" / "01_demo.html"
    html_path.parent.mkdir()
    html_path.write_text("old")
    render_notebook(executed_notebook, html_path)
    assert html_path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in html_path.parent.iterdir()] == ["01_demo.html"]  # no temp left


def test_find_external_resources_spots_cdn_loads():
    page = (
        '<link rel="stylesheet" href="https://cdn.example/x.css">'
        '<script src="//cdn.example/x.js"></script><img src="data:image/png;base64,AA">'
        "<style>@import 'https://fonts.example/f.css'; a{background:url(http://x/y.png)}</style>"
    )
    assert find_external_resources(page) == [
        "https://cdn.example/x.css",
        "//cdn.example/x.js",
        "https://fonts.example/f.css",
        "http://x/y.png",
    ]


# ------------------------------------------------------------------ run index


def make_run(runs_dir: Path, run_id: str, summary: dict | None = None, **record) -> Path:
    run_dir = runs_dir / run_id
    (run_dir / "data").mkdir(parents=True)
    if summary is not None:
        (run_dir / "data" / "summary.json").write_text(json.dumps(summary))
    fields = {
        "run_id": run_id,
        "started_at": "2026-11-25T11:03:56+00:00",
        "finished_at": "2026-11-25T11:05:00+00:00",
        "status": "complete",
        "notebooks": ("01_crawl", "02_merge"),
    }
    fields.update(record)
    write_run_record(run_dir, RunRecord(**fields))
    return run_dir


def test_format_value():
    assert format_value(None) == "—"
    assert format_value(1234) == "1,234"
    assert format_value(True, "flag") == "yes"
    assert format_value(False) == "no"
    assert format_value(0.8751, "rate") == "87.5 %"
    assert format_value(1, "rate") == "100.0 %"
    assert format_value(EVIL) == EVIL  # escaping is the template's job


def test_run_index_escapes_outside_text(tmp_path):
    failure = FailureInfo(
        notebook="02_merge",
        cell=3,
        execution_count=2,
        label="resolve",
        ename="ArtifactError",
        evalue=f"report {EVIL} has no queries",
    )
    run_dir = make_run(
        tmp_path,
        "20261125T110356Z",
        {"models": 3, "top_stale_report": EVIL, EVIL: 1},
        status="failed",
        failure=failure,
    )
    html = write_run_index(run_dir, ("01_crawl", "02_merge"), failure).read_text(encoding="utf-8")
    assert EVIL not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3
    assert fetched(html).scripts == []


def test_run_index_tolerates_missing_or_broken_summary(tmp_path):
    run_dir = make_run(tmp_path, "20261125T110356Z")
    html = write_run_index(run_dir, ("01_crawl",), None).read_text(encoding="utf-8")
    assert "—" in html
    (run_dir / "data" / "summary.json").write_text("{not json")
    write_run_index(run_dir, ("01_crawl",), None)  # no exception
    (run_dir / "data" / "summary.json").write_text("[1, 2]")
    write_run_index(run_dir, ("01_crawl",), None)


def test_run_index_links_are_relative_and_quoted(tmp_path):
    run_dir = make_run(tmp_path, "20261125T110356Z", {"models": 1})
    (run_dir / "data" / "odd name #1.csv").write_text("x")
    (run_dir / "01_crawl.html").write_text("x")
    html = write_run_index(run_dir, ("01_crawl", "02_merge"), None).read_text(encoding="utf-8")
    assert 'href="data/odd%20name%20%231.csv"' in html
    assert 'href="01_crawl.html"' in html
    assert 'href="02_merge.html"' not in html  # not rendered, not linked
    assert str(tmp_path) not in html


# ------------------------------------------------------------------ runs index


def test_runs_index_lists_runs_newest_first(tmp_path):
    for run_id in ("20261125T110356Z", "20261125T110356Z-2", "20261125T110356Z-10", "20261126T080000Z"):
        make_run(tmp_path, run_id, {"models": 5, "ref_resolution_rate": 0.5})
    make_run(tmp_path, "20261127T080000Z", status="failed", failed_notebook="03_rank")
    (tmp_path / "not_a_run").mkdir()
    broken = tmp_path / "20261124T000000Z"
    broken.mkdir()
    (broken / "run.json").write_text("{oops")
    html = write_runs_index(tmp_path).read_text(encoding="utf-8")
    order = [
        "20261127T080000Z",
        "20261126T080000Z",
        "20261125T110356Z-10",
        "20261125T110356Z-2",
        "20261125T110356Z/",
    ]
    positions = [html.index(f'href="{run_id}') for run_id in order]
    assert positions == sorted(positions)
    assert "not_a_run" not in html and "20261124T000000Z" not in html
    assert "50.0 %" in html and "at 03_rank" in html


def test_runs_index_escapes_a_tampered_record(tmp_path):
    make_run(tmp_path, "20261125T110356Z", {"models": EVIL}, status=EVIL)
    html = write_runs_index(tmp_path).read_text(encoding="utf-8")
    assert EVIL not in html
    assert "unknown" in html  # an unexpected status is not echoed as a CSS class


def test_runs_index_of_an_empty_folder(tmp_path):
    html = write_runs_index(tmp_path).read_text(encoding="utf-8")
    assert "No runs yet" in html


# ------------------------------------------------ runs left "running" by a dead process


def _reaped_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def running_run(runs_dir: Path, run_id: str, *, lock: bool, pid: int | None) -> Path:
    run_dir = make_run(runs_dir, run_id, status="running", finished_at=None, pid=pid, executed=("01_crawl",))
    if lock:
        (run_dir / RUN_LOCK).touch()
    return run_dir


def test_runs_index_marks_a_running_run_nobody_holds_the_lock_of_as_interrupted(tmp_path):
    run_dir = running_run(tmp_path, "20261125T110356Z", lock=True, pid=4242)
    html = write_runs_index(tmp_path).read_text(encoding="utf-8")
    record = read_run_record(run_dir)
    assert record.status == "interrupted"
    assert record.interruption.startswith("process 4242 ended during 01_crawl without finishing the run")
    assert "status-interrupted" in html and "Interrupted: process 4242" in html
    run_page = (run_dir / "index.html").read_text(encoding="utf-8")
    assert "status-interrupted" in run_page and "Interrupted: process 4242 ended during 01_crawl" in run_page


def test_runs_index_leaves_a_live_run_running(tmp_path):
    run_dir = running_run(tmp_path, "20261125T110356Z", lock=False, pid=os.getpid())
    with hold_run_lock(run_dir):
        write_runs_index(tmp_path)
        assert read_run_record(run_dir).status == "running"
    write_runs_index(tmp_path)  # the lock is released: nobody runs it any more
    assert read_run_record(run_dir).status == "interrupted"


def test_a_running_record_without_a_lock_file_is_judged_by_its_pid(tmp_path):
    dead = running_run(tmp_path, "20261125T110356Z", lock=False, pid=_reaped_pid())
    alive = running_run(tmp_path, "20261125T110357Z", lock=False, pid=os.getpid())
    unknown = running_run(tmp_path, "20261125T110358Z", lock=False, pid=None)
    write_runs_index(tmp_path)
    assert read_run_record(dead).status == "interrupted"
    assert read_run_record(alive).status == "running"
    assert read_run_record(unknown).status == "running"  # an older run: nothing to judge it by


def test_a_finished_run_is_never_settled(tmp_path):
    run_dir = make_run(tmp_path, "20261125T110356Z", status="complete", pid=_reaped_pid())
    (run_dir / RUN_LOCK).touch()
    assert settle_abandoned(run_dir) is None
    assert read_run_record(run_dir).status == "complete"


# ------------------------------------------------------------- incomplete crawls


def test_incomplete_crawl_is_shown_on_both_pages_escaped(tmp_path):
    problems = tuple(f"report{i} {EVIL}: HTTP 403" for i in range(10))
    run_dir = make_run(tmp_path, "20261125T110356Z", {"crawl_complete": False}, crawl_complete=False,
                       deletions_withheld=True, crawl_problems=problems, crawl_problem_count=14)
    make_run(tmp_path, "20261125T110357Z", {"crawl_complete": True}, crawl_complete=True)
    runs_html = write_runs_index(tmp_path).read_text(encoding="utf-8")
    assert runs_html.count("crawl incomplete: deletions withheld (14 problems)") == 1
    assert EVIL not in runs_html and "report0" not in runs_html  # counted on the list, listed on the run page
    run_html = write_run_index(run_dir, ("01_crawl",), None).read_text(encoding="utf-8")
    assert "crawl incomplete: deletions withheld (14 problems: report0 &lt;script&gt;" in run_html
    assert "; and 4 more" in run_html and EVIL not in run_html


def test_run_record_round_trips_and_tolerates_tampered_crawl_fields(tmp_path):
    record = RunRecord(run_id="r", started_at="s", finished_at=None, status="complete", notebooks=("a",),
                       pid=12, crawl_complete=False, deletions_withheld=True, crawl_problems=("x: y",),
                       crawl_problem_count=1)
    assert RunRecord.from_json(json.loads(json.dumps(record.to_json()))) == record
    tampered = RunRecord.from_json({"run_id": "r", "pid": "12", "crawl_complete": "no", "deletions_withheld": 1,
                                    "crawl_problems": list(range(50)), "crawl_problem_count": True,
                                    "interruption": ["x"]})
    assert tampered.pid is None and tampered.crawl_complete is None and tampered.deletions_withheld is None
    assert len(tampered.crawl_problems) == 10 and tampered.crawl_problem_count == 0
    assert tampered.interruption is None


def test_a_withheld_orphan_count_is_never_shown_as_models_to_remove():
    from lineage_utils.publish.html import headline_values

    withheld = dict(headline_values({"orphan_models": 7, "deletions_withheld": True}))
    assert withheld["Orphan models"] == "7 (unconfirmed: crawl incomplete, no deletion proposed)"
    assert dict(headline_values({"orphan_models": 7, "deletions_withheld": False}))["Orphan models"] == "7"


def test_the_run_page_lists_a_table_as_its_csv_twin_with_the_parquet_beside_it(tmp_path):
    from lineage_utils.publish.html import _data_files

    (tmp_path / "data").mkdir()
    for name in ("orphan_models.parquet", "orphan_models.csv", "lineage.json", "actions.jsonl.lock"):
        (tmp_path / "data" / name).write_text("x")
    (tmp_path / "params.yaml").write_text("x")
    listed = {label: (href, parquet) for label, href, parquet in _data_files(tmp_path)}
    assert listed == {"params.yaml": ("params.yaml", None), "data/lineage.json": ("data/lineage.json", None),
                      "data/orphan_models.csv": ("data/orphan_models.csv", "data/orphan_models.parquet")}


def test_the_run_page_opens_with_what_to_do_each_step_linked_to_its_section(tmp_path):
    from lineage_utils.publish.html import next_steps

    full = ("01_crawl", "02_merge", "03_rank", "04_cleanup")
    run_dir = make_run(tmp_path, "20261201T080000Z", {"stale_reports": 8, "orphan_models": 1, "exposures_added": 2,
                                                       "exposures_changed": 0, "exposures_removed": 1},
                       notebooks=full)
    assert "04_cleanup.html#" not in write_run_index(run_dir, full, None).read_text(encoding="utf-8")  # no page yet
    (run_dir / "04_cleanup.html").write_text("<h2 id='Orphan-models'>Orphan models</h2>")
    html = write_run_index(run_dir, full, None).read_text(encoding="utf-8")
    hrefs = set(re.findall(r'href="([^"]+)"', html))
    assert html.index("What to do now") < html.index("Headline numbers")
    assert "Archive 8 stale reports" in html and "Review the removal of 1 orphan model:" in html
    assert "Merge the exposures update (2 added, 1 removed)" in html
    assert {"04_cleanup.html#Stale-reports-to-archive", "04_cleanup.html#Orphan-models",
            "04_cleanup.html#Generated-exposures"} <= hrefs
    withheld = next_steps({"stale_reports": 0, "orphan_models": 3, "deletions_withheld": True})
    assert [what for what, _ in withheld] == ["Fix the crawl first: 3 models look orphaned in what was crawled, "
                                              "but the crawl was incomplete, so no removal is proposed."]
    assert next_steps({"stale_reports": 0, "orphan_models": 0})[0][0].startswith("Nothing to clean up")
    assert next_steps({"models": 4}) == []  # 04_cleanup has not run


def test_runs_index_shows_project_source_and_partial_runs(tmp_path):
    full = ("01_crawl", "02_merge", "03_rank", "04_cleanup")
    whole = make_run(tmp_path, "20261201T080000Z", {"project": "shop_dbt", "workspace": "acme"}, notebooks=full)
    (whole / "data" / "crawl_status.json").write_text(json.dumps({"source": "mode_api"}))
    make_run(tmp_path, "20261201T090000Z", {"project": "shop_dbt"}, notebooks=("03_rank", "04_cleanup"))
    html = write_runs_index(tmp_path).read_text(encoding="utf-8")
    assert "<th>project</th><th>BI source</th>" in html
    assert "shop_dbt" in html and "acme (mode_api)" in html
    assert html.count("partial run: ") == 1 and "partial run: 03_rank, 04_cleanup" in html
