"""What the notebook views show of outside text: inert markup, visible invisible characters,
links only to reports on the BI host, and honest headings when deletions are withheld."""

from __future__ import annotations

import html
import re
from types import SimpleNamespace

import networkx as nx
import pandas as pd
import pytest

from lineage_utils.bi.status import CrawlStatus
from lineage_utils.params import load_params
from lineage_utils.publish import views
from lineage_utils.publish.templating import render, report_url, visible
from lineage_utils.run_folder import Run
from lineage_utils.testing import payloads
from tests.conftest import DEMO_PARAMS

URL_NAME = payloads.HTML[0]
RAW_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def hrefs(markup: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'<a\b[^>]*\bhref="([^"]*)"', markup)]


def fake_run(tmp_path, status: CrawlStatus | None = None, **overrides: str) -> Run:
    params = load_params(DEMO_PARAMS, [f"{k}={v}" for k, v in overrides.items()])
    run = Run(run_dir=tmp_path / "run", params=params)
    run.data_dir.mkdir(parents=True)
    if status is not None:
        run.write_json("crawl_status", status.to_dict())
    return run


# -- links -------------------------------------------------------------------------------
def test_a_name_shaped_like_a_url_is_text_never_markup():
    frame = pd.DataFrame({"name": [URL_NAME, "<script>alert(1)</script>"], "token": ["abc123", "def456"]})
    markup = views.table(frame)._repr_html_()
    assert hrefs(markup) == []
    assert "<img" not in markup and "<script>" not in markup
    assert html.escape(URL_NAME) in markup.replace("&#34;", "&quot;")


@pytest.mark.parametrize("href", payloads.URLS)
def test_a_hostile_web_url_never_becomes_a_link(href):
    frame = pd.DataFrame({"name": ["r"], "web_url": [href], "token": ["not a token/../x"]})
    assert hrefs(views.table(frame)._repr_html_()) == []


def test_report_links_are_built_from_the_token_on_the_configured_host(tmp_path):
    run = fake_run(tmp_path)
    frame = pd.DataFrame({"name": ["a", "b"], "web_url": ["javascript:alert(1)", "https://evil.example/r"],
                          "token": ["e9a11122b9f7", "x/../y"]})
    markup = views.table(frame, ["name", "web_url"], run=run)._repr_html_()
    assert hrefs(markup) == ["https://app.mode.com/metapipeline-demo/reports/e9a11122b9f7"]
    assert "javascript:alert(1)" not in markup  # the stored URL is replaced by the built link
    assert "https://evil.example/r" in markup and 'href="https://evil.example' not in markup  # text, not a link


@pytest.mark.parametrize("base, workspace, token", [
    ("javascript:alert(1)", "w", "abc"), ("https://user@evil.example", "w", "abc"),
    ("https://app.mode.com/path", "w", "abc"), ("https://app.mode.com", "../w", "abc"),
    ("https://app.mode.com", "w", "abc?x=1"), ("https://app.mode.com", "w", '"><img src=x>'),
    ("https://app.mode.com", "w", ""), ("ftp://app.mode.com", "w", "abc"), ("https://app.mode.com", "w", None),
])
def test_report_url_refuses_anything_but_a_plain_token_on_an_http_host(base, workspace, token):
    assert report_url(base, workspace, token) is None


def test_report_url_keeps_a_loopback_port():
    assert report_url("http://127.0.0.1:8123/", "ws", "abc") == "http://127.0.0.1:8123/ws/reports/abc"


# -- invisible and bidi characters ---------------------------------------------------------
@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\u200b", "\u200d", "\u2028", "\u202a",
                                  "\u202e", "\u2066", "\u2069", "\ufeff", "\u0085"])
def test_visible_marks_each_invisible_or_bidi_character(char):
    assert visible(f"a{char}b") == f"a<U+{ord(char):04X}>b"


def test_visible_keeps_ordinary_text_tabs_and_newlines():
    assert visible("Orders overview: über café 注文\tx\ny") == "Orders overview: über café 注文\tx\ny"


def test_table_shows_invisible_characters_as_escaped_markers():
    markup = views.table(pd.DataFrame({"name": list(payloads.INVISIBLE)}))._repr_html_()
    assert not RAW_INVISIBLE.search(markup)
    assert "admin&lt;U+202E&gt;txt.exe" in markup and "before&lt;U+0000&gt;after" in markup


def test_every_template_marks_invisible_characters():
    markup = render("views/yaml_block.html.j2", text="name: admin\u202etxt\x00")
    assert "admin&lt;U+202E&gt;txt&lt;U+0000&gt;" in markup


def test_crawl_status_marks_invisible_characters():
    status = CrawlStatus(complete=False, source="mode_api", origin="o", workspace="w", captured_at=None, full=True,
                         errors=(), missing=(), warnings=())
    status = CrawlStatus.from_dict({**status.to_dict(), "errors": [
        {"target": "r\u202e1", "reason": "denied \x1b[31m", "status": 403}]})
    markup = views.crawl_status(status)._repr_html_()
    assert not RAW_INVISIBLE.search(markup) and "r&lt;U+202E&gt;1" in markup


def test_graph_labels_and_tooltips_show_markers_and_inert_markup():
    graph = nx.DiGraph()
    graph.add_node("model.p.a", kind="model", name="a")
    for i, name in enumerate([*payloads.INVISIBLE, *payloads.HTML]):
        graph.add_node(f"mode.report.r{i}", kind="bi_report", name=name, report_type="Report")
        graph.add_edge("model.p.a", f"mode.report.r{i}")
    markup = views.lineage_graph(graph, set())._repr_html_()
    assert not RAW_INVISIBLE.search(markup)
    assert "admin&lt;U+202E&gt;txt.exe" in markup
    assert "<img" not in markup and "<svg onload" not in markup and markup.count("<script>") == 1


def test_dataframes_a_notebook_displays_go_through_the_safe_table():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        views.configure_display()
        data, _ = shell.display_formatter.format(pd.DataFrame({"name": ["x\u202ey", URL_NAME]}))
    finally:
        InteractiveShell.clear_instance()
    assert "x&lt;U+202E&gt;y" in data["text/html"] and hrefs(data["text/html"]) == []


# -- withheld deletions -----------------------------------------------------------------------
def incomplete_status() -> CrawlStatus:
    return CrawlStatus.from_dict({
        "complete": False, "source": "mode_api", "origin": "https://app.mode.com workspace w", "workspace": "w",
        "captured_at": None, "full": True,
        "errors": [{"target": "e9a11122b9f7", "reason": "HTTP 403 on GET /reports/e9a11122b9f7", "status": 403}]})


def cleanup_result(withheld: str | None) -> SimpleNamespace:
    orphans = pd.DataFrame({"unique_id": ["model.p.old_model"], "name": ["old_model"], "reason": ["no_consumer"],
                            "evidence": ["no active report, exposure or protected node reads it"],
                            "last_consumer_name": [None], "path": ["models/old_model.sql"]})
    empty = pd.DataFrame(columns=["name"])
    return SimpleNamespace(stale=empty, orphans=orphans, keepers=empty, exposures=[], actions=[], withheld=withheld)


WITHHELD = "the crawl was incomplete: deletion proposals are withheld (cleanup.allow_incomplete is off)"


def test_withheld_summary_names_the_crawl_problems_and_proposes_no_removal(tmp_path):
    run = fake_run(tmp_path, incomplete_status())
    text = html.unescape(views.cleanup_summary(cleanup_result(WITHHELD), run)._repr_html_())
    assert "Deletion proposals are withheld" in text
    assert "e9a11122b9f7: HTTP 403 on GET /reports/e9a11122b9f7" in text
    assert re.search(r"orphan models to remove</td><td[^>]*>0<", text)
    assert re.search(r"would be proposed for removal once the crawl is complete</td><td[^>]*>1<", text)


def test_withheld_orphans_are_not_listed_as_models_to_remove(tmp_path):
    run = fake_run(tmp_path, incomplete_status())
    text = html.unescape(views.orphan_plan(cleanup_result(WITHHELD), run)._repr_html_())
    assert "to remove" not in text.lower()
    assert "Would be proposed once the crawl is complete (1)" in text
    assert "e9a11122b9f7: HTTP 403" in text and "old_model" in text
    assert "evidence (as far as the incomplete crawl shows)" in text


def test_complete_crawl_lists_orphan_models_to_remove(tmp_path):
    text = views.orphan_plan(cleanup_result(None), fake_run(tmp_path))._repr_html_()
    assert "Orphan models to remove (1)" in text and "Would be proposed" not in text and "withheld" not in text


def test_graph_of_an_incomplete_crawl_labels_orphans_unconfirmed(tmp_path):
    graph = nx.DiGraph()
    graph.add_node("model.p.a", kind="model", name="a")
    run = fake_run(tmp_path, incomplete_status())
    text = html.unescape(views.lineage_graph(graph, {"model.p.a"}, run=run)._repr_html_())
    assert "unconfirmed: crawl incomplete" in text and "e9a11122b9f7: HTTP 403" in text


def test_what_apply_did_is_shown_as_inert_text_even_from_a_hostile_api():
    from lineage_utils.actions.apply import Applied, PrOutcome
    from lineage_utils.actions.records import Action

    hostile = payloads.HTML[0]
    applied = Applied(
        records=[Action(action="pull_request", target="metapipeline/cleanup-r1", name="deletion_pr", evidence=hostile,
                        mode="apply", result="done", run_id="r1", reason=f"#7 {hostile}")],
        deletion_pr=PrOutcome("deletion_pr", "opened", f"opened #7 {hostile}", branch="metapipeline/cleanup-r1",
                              url="javascript:alert(1)", number=7),
        exposures_pr=PrOutcome("exposures_pr", "failed", f"dbt parse failed: {hostile}"))
    result = SimpleNamespace(applied=applied)
    markup = views.applied(result).markup
    assert "<script" not in markup.lower() and hrefs(markup) == []
    assert "javascript:alert(1)" in html.unescape(markup) and "opened #7" in markup and "failed" in markup
    assert "dry run" in views.applied(SimpleNamespace(applied=None)).markup
