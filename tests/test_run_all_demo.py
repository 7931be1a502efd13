"""`run_all.py` on the demo through real papermill kernels, and bad input from the command line."""

from __future__ import annotations

import html as html_mod
import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from lineage_utils.params import load_params
from lineage_utils.run_folder import Run
from tests.conftest import DEMO_PARAMS, as_sets, run_all_cli
from tests.demo_findings import differences, wanted
from tests.test_runner import page_text

pytestmark = pytest.mark.slow


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.remote: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in {"href", "src"} and value:
                (self.remote if value.startswith(("http://", "https://", "//")) and tag in {"script", "link", "img", "iframe"} else self.hrefs).append(value)


def test_demo_chain_end_to_end(published_demo_run, demo_expected):
    run_dir = published_demo_run
    runs = run_dir.parent
    for name in ("01_crawl", "02_merge", "03_rank", "04_cleanup"):
        assert (run_dir / f"{name}.html").stat().st_size > 10_000
        assert (run_dir / f"{name}.ipynb").is_file()
    for data in ("bi_snapshot.json", "reports.parquet", "queries.parquet", "dbt_nodes.parquet", "dbt_edges.parquet",
                 "crawl_status.json", "query_refs.parquet", "lineage.json", "centrality.parquet",
                 "stale_reports.parquet", "orphan_models.parquet", "exposures.yml", "actions.jsonl", "cleanup.patch"):
        assert (run_dir / "data" / data).is_file(), data
    summary = json.loads((run_dir / "data" / "summary.json").read_text())
    run = Run(run_dir=run_dir, params=load_params(run_dir / "params.yaml"))
    assert differences(run, demo_expected) == {}
    truth = wanted(demo_expected)
    headline = {key: summary[key] for key in ("stale_reports", "orphan_models", "exposures_generated",
                                              "unparsed_queries")}
    assert headline == {"stale_reports": len(truth["stale_reports"]), "orphan_models": len(truth["orphan_models"]),
                        "exposures_generated": len(truth["generated_exposures"]),
                        "unparsed_queries": len(truth["unparsed_queries"])}
    index = page_text(run_dir / "index.html")
    counts = truth["counts"]
    for shown in (f"Models {counts['models']:,}", f"BI reports {counts['reports']:,}",
                  f"Stale reports {len(truth['stale_reports'])}", f"Orphan models {len(truth['orphan_models'])}"):
        assert shown in index, shown
    assert (runs / "index.html").is_file()
    for page in run_dir.glob("*.html"):
        parser = _Links()
        parser.feed(page.read_text())
        assert parser.remote == [], f"{page.name} loads {parser.remote[:3]}"
    cleanup_html = (run_dir / "04_cleanup.html").read_text()
    for evidence in pd.read_parquet(run_dir / "data" / "orphan_models.parquet")["evidence"]:
        assert html_mod.escape(evidence) in cleanup_html, "evidence is truncated in the report"
    assert "## metapipeline: remove 7 orphan dbt models" in cleanup_html  # the PR body, shown as text
    assert html_mod.escape((run_dir / "data" / "cleanup.patch").read_text().splitlines()[0]) in cleanup_html
    merge_html = (run_dir / "02_merge.html").read_text()
    assert "<svg" in merge_html and "fin_dim_accounts" in merge_html


@pytest.mark.parametrize("setting, message", [
    ("dbt.target_dir={tmp}/nowhere", "params key 'dbt.target_dir': folder not found: {tmp}/nowhere"),
    ("dbt.target_dir={tmp}/v5", "manifest schema v5 is not supported (supported: v7 to v12)"),
    ("dbt.target_dir={tmp}/broken", "broken/manifest.json: malformed JSON at line 2, column 3"),
])
def test_bad_artifacts_fail_clearly(tmp_path, setting, message):
    (tmp_path / "v5").mkdir()
    (tmp_path / "v5" / "manifest.json").write_text(json.dumps(
        {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v5.json"}}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text('{"metadata":\n {oops')
    runs = tmp_path / "runs"
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_all_cli("--runs-dir", str(runs), *as_sets(["dbt.build=false", setting.format(tmp=tmp_path)]))
    assert result.returncode == 1
    assert message.format(tmp=tmp_path) in result.stderr
    assert "notebook 01_crawl failed" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "runs") == before
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    assert not any((run_dir / "data").glob("*.parquet"))


def test_unknown_params_key_suggests_and_writes_nothing(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text(Path(DEMO_PARAMS).read_text().replace("last_run_days:", "last_run_dayz:"))
    result = run_all_cli("--params", str(params), "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 1
    assert "unknown params key 'staleness.last_run_dayz' (did you mean 'staleness.last_run_days'?)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()
