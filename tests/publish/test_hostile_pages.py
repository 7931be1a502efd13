"""Every published page of a real run over a hostile Mode workspace, in headless Chromium.

The workspace (``testing.hostile_workspace``) carries every string of
``testing.payloads`` as report, query, space, data source and creator names and
descriptions, and hostile ``_links.web.href`` values. Opened in a real browser, no page
may fire a dialog or hold an element the data injected, no link may lead anywhere but a
report on the configured BI host, and invisible characters show as visible markers.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lineage_utils.testing.hostile_workspace import URL_NAME, make_hostile_workspace
from tests.conftest import DEMO_PARAMS, MODE_DEMO, demo_overrides
from tests.publish.test_browser import CHROMIUM_FLAGS

pytestmark = pytest.mark.slow

PAGES = ("index.html", "01_crawl.html", "02_merge.html", "03_rank.html", "04_cleanup.html", "../index.html")
BI_HOST = "app.mode.com"
INVISIBLE = "\x00\x07\x1b\u200b\u200c\u200d\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"

# Installed before any page script runs: every dialog is recorded instead of shown.
DIALOG_TRAP = """
window.__dialogs = [];
for (const name of ["alert", "confirm", "prompt", "print"]) {
  const record = function () { window.__dialogs.push(name + ":" + Array.from(arguments).join(",")); };
  Object.defineProperty(window, name, {value: record, writable: false, configurable: false});
}
"""

# What the data could have injected: returned as a list of findings, empty when clean.
INJECTED = """
const found = [];
for (const el of document.querySelectorAll("*")) {
  for (const attr of el.attributes) {
    if (attr.name.toLowerCase().startsWith("on")) found.push(`${el.tagName} ${attr.name}=${attr.value}`);
    if (/^\\s*(javascript|vbscript|data):/i.test(attr.value) && !(el.tagName === "IMG" && attr.name === "src"
        && /^data:image\\/(png|svg\\+xml);base64,/.test(attr.value)))
      found.push(`${el.tagName} ${attr.name}=${attr.value.slice(0, 60)}`);
  }
}
for (const el of document.querySelectorAll("iframe, object, embed, form, base, meta[http-equiv], frame"))
  found.push(`element ${el.tagName}`);
for (const img of document.querySelectorAll("img"))
  if (!/^data:image\\//.test(img.getAttribute("src") || "")) found.push(`img src=${img.getAttribute("src")}`);
for (const s of document.querySelectorAll("script")) {
  if (s.src) found.push(`script src=${s.src}`);
  if (/alert|prompt\\(|confirm\\(/.test(s.textContent)) found.push(`script ${s.textContent.slice(0, 80)}`);
}
return found;
"""


@pytest.fixture(scope="module")
def hostile_run(demo_target, tmp_path_factory) -> Path:
    """The whole chain (real kernels, HTML) on the demo dbt project and a hostile workspace."""
    from lineage_utils.runner import run_chain

    root = tmp_path_factory.mktemp("hostile")
    workspace = make_hostile_workspace(MODE_DEMO, root / "mode_workspace")
    overrides = [*demo_overrides(demo_target, root / "runs"), f"bi.snapshot_dir={workspace}"]
    result = run_chain(DEMO_PARAMS, overrides, runs_dir=root / "runs", progress=False)
    assert result.failed is None
    return result.run_dir


@pytest.fixture(scope="module")
def trapped_browser(tmp_path_factory):
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("headless Chromium is not installed here: `make browser-deps`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-hostile')}")
    options.set_capability("unhandledPromptBehavior", "ignore")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DIALOG_TRAP})
    yield driver
    driver.quit()


def _open(driver, page: Path) -> None:
    driver.get(page.resolve().as_uri())
    assert driver.execute_script("return document.readyState") == "complete"


def _open_alert(driver) -> str | None:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        alert = driver.switch_to.alert
        text = alert.text
        alert.dismiss()
        return text
    except NoAlertPresentException:
        return None


def _foreign_links(driver, run_dir: Path) -> list[str]:
    """Every ``<a href>`` that is neither in-page, nor a file of the run, nor a report on the BI host."""
    bad = []
    for href in driver.execute_script("return Array.from(document.querySelectorAll('a[href]'), "
                                      "a => [a.getAttribute('href'), a.href])"):
        raw, resolved = href
        parts = urlsplit(resolved)
        if raw.startswith("#"):
            continue
        if parts.scheme == "file" and Path(parts.path).resolve().is_relative_to(run_dir.parent):
            continue
        if (parts.scheme in ("http", "https") and parts.hostname == BI_HOST and not parts.username
                and parts.path.startswith("/metapipeline-demo/reports/")):
            continue
        bad.append(raw)
    return bad


@pytest.mark.parametrize("page", PAGES)
def test_hostile_page_fires_no_dialog_and_holds_nothing_injected(trapped_browser, hostile_run, page):
    _open(trapped_browser, hostile_run / page)
    trapped_browser.execute_script("document.querySelectorAll('svg g.n').forEach(g => g.dispatchEvent("
                                   "new MouseEvent('mouseover', {bubbles: true})))")
    assert _open_alert(trapped_browser) is None
    assert trapped_browser.execute_script("return window.__dialogs") == []
    assert trapped_browser.execute_script(INJECTED) == []
    assert _foreign_links(trapped_browser, hostile_run) == []


@pytest.mark.parametrize("page", PAGES)
def test_hostile_page_shows_no_invisible_character_raw(trapped_browser, hostile_run, page):
    _open(trapped_browser, hostile_run / page)
    text = trapped_browser.execute_script(
        "return document.documentElement.textContent + Array.from(document.querySelectorAll('*'), "
        "e => Array.from(e.attributes, a => a.value).join(' ')).join(' ')")
    assert [hex(ord(c)) for c in sorted(set(text) & set(INVISIBLE + "\ufffd"))] == []


def test_hostile_data_source_names_label_the_sources_view_as_text(trapped_browser, hostile_run):
    import json

    from selenium.webdriver.common.by import By

    from lineage_utils.publish.templating import visible

    document = json.loads((hostile_run.parent.parent / "mode_workspace" / "data_sources.json").read_text())
    names = [source["name"] for source in document["_embedded"]["data_sources"]]
    _open(trapped_browser, hostile_run / "02_merge.html")
    labels = trapped_browser.execute_script(
        "return Array.from(document.querySelectorAll('.lg g.n.focus text'), t => t.textContent)")
    assert len(labels) == len(names)
    for name in names:  # each label: the name as text (marks made visible), then its reference counts
        assert [label for label in labels if label.startswith(visible(name) + " (")], name
    assert trapped_browser.find_elements(By.CSS_SELECTOR, ".lg g.n.focus")


@pytest.mark.parametrize("page", ["03_rank.html", "04_cleanup.html"])
def test_hostile_names_are_shown_as_text_with_visible_markers(trapped_browser, hostile_run, page):
    from selenium.webdriver.common.by import By

    _open(trapped_browser, hostile_run / page)
    for whole in trapped_browser.find_elements(By.CSS_SELECTOR, ".lg button[data-zoom=fit]"):
        whole.click()  # the graph's whole extent in view: every label is on screen
    body = trapped_browser.find_element(By.TAG_NAME, "body").text
    assert "<U+202E>" in body or "<U+2066>" in body or "<U+0007>" in body
    assert URL_NAME in body  # the name shaped like a URL, shown as the text it is


def test_report_links_point_at_the_bi_host_built_from_the_token(trapped_browser, hostile_run):
    _open(trapped_browser, hostile_run / "04_cleanup.html")
    hrefs = trapped_browser.execute_script(
        "return Array.from(document.querySelectorAll('table a[href]'), a => a.getAttribute('href'))")
    assert hrefs, "the stale reports table links to each report"
    for href in hrefs:
        parts = urlsplit(href)
        assert (parts.scheme, parts.hostname) == ("https", BI_HOST)
        assert parts.path.rsplit("/", 1)[-1].isalnum()
