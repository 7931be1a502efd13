"""The published HTML in a real headless Chromium: offline, no script errors, the graph responds.

Needs Debian's chromium and chromium-driver (`make browser-deps`, which `make test` runs).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import networkx as nx
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,1000",
    # Nothing may leave the machine: every host name fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("headless Chromium is not installed here: `make browser-deps` installs Debian's "
                    "chromium and chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _remote_resources(driver) -> list[str]:
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return [u for u in urls if not u.startswith(("file:", "data:", "blob:"))]


def _script_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_run_index_opens_offline_and_links_to_notebooks(browser, published_demo_run):
    from selenium.webdriver.common.by import By

    browser.get((published_demo_run / "index.html").as_uri())
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Orphan models" in body and "Stale reports" in body
    links = {a.get_attribute("href").rsplit("/", 1)[-1] for a in browser.find_elements(By.TAG_NAME, "a")}
    assert {"01_crawl.html", "02_merge.html", "03_rank.html", "04_cleanup.html"} <= links
    assert _remote_resources(browser) == []
    assert _script_errors(browser) == []


@pytest.mark.parametrize("page", ["01_crawl", "02_merge", "03_rank", "04_cleanup"])
def test_notebook_pages_render_offline_without_errors(browser, published_demo_run, page, tmp_path):
    browser.get((published_demo_run / f"{page}.html").as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    assert _remote_resources(browser) == []
    assert _script_errors(browser) == []
    assert browser.save_screenshot(str(tmp_path / f"{page}.png"))


FOCUSED_VIEWS = {"02_merge": ("sources", 3), "03_rank": ("priority", 8), "04_cleanup": ("orphans", 7)}
"""Page -> its focused view and how many focus nodes it rings (data sources, top priorities, orphans of the demo)."""


@pytest.mark.parametrize("page", sorted(FOCUSED_VIEWS))
def test_each_page_draws_its_focused_view_with_its_focus_ringed(browser, published_demo_run, page):
    from selenium.webdriver.common.by import By

    name, focus = FOCUSED_VIEWS[page]
    browser.get((published_demo_run / f"{page}.html").as_uri())
    (view,) = browser.find_elements(By.CSS_SELECTOR, f".lg[id^={name}]")
    drawn = view.find_elements(By.CSS_SELECTOR, "g.n")
    assert len(view.find_elements(By.CSS_SELECTOR, "g.n.focus")) == focus < len(drawn)
    assert f"Showing {len(drawn)} nodes" in view.text
    assert all(g.find_element(By.TAG_NAME, "circle").size["width"] > 0 for g in drawn[:5])  # drawn, not hidden
    assert _script_errors(browser) == []


@pytest.mark.parametrize("page, name", [("04_cleanup", "fct_partner_sales"), ("02_merge", "dim_customers"),
                                        ("03_rank", None)])  # None: the first ringed node (runtimes vary)
def test_lineage_graph_click_highlights_lineage(browser, published_demo_run, page, name):
    from selenium.webdriver.common.by import By

    browser.get((published_demo_run / f"{page}.html").as_uri())
    nodes = browser.find_elements(By.CSS_SELECTOR, "svg g.n")
    assert len(nodes) > 10
    target = next(n for n in nodes if n.find_element(By.TAG_NAME, "text").text == name
                  or (name is None and "focus" in n.get_attribute("class")))
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'center'})", target)
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", target)
    dimmed = browser.find_elements(By.CSS_SELECTOR, "svg g.n.dim")
    lit = browser.find_elements(By.CSS_SELECTOR, "svg line.e.hi")
    assert 0 < len(dimmed) < len(nodes) and lit
    assert "dim" not in target.get_attribute("class")
    # exactly the clicked node's lineage: the drawn edges within its ancestors or within its descendants
    drawn = nx.DiGraph(browser.execute_script(
        "return Array.from(document.querySelectorAll('svg line.e')).map(e => [+e.dataset.u, +e.dataset.v])"))
    me = int(target.get_attribute("data-i"))
    up, down = nx.ancestors(drawn, me) | {me}, nx.descendants(drawn, me) | {me}
    expected = {(u, v) for u, v in drawn.edges if (u in up and v in up) or (u in down and v in down)}
    assert {(int(e.get_attribute("data-u")), int(e.get_attribute("data-v"))) for e in lit} == expected
    assert len(lit) == len(expected) < drawn.number_of_edges()
    undimmed = {int(n.get_attribute("data-i")) for n in nodes} - {int(n.get_attribute("data-i")) for n in dimmed}
    assert undimmed == up | down
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", target)
    assert browser.find_elements(By.CSS_SELECTOR, "svg g.n.dim") == []


def _view_box(browser) -> list[float]:
    return [float(v) for v in browser.execute_script(
        "return document.querySelector('.lg svg').getAttribute('viewBox')").split()]


def test_lineage_graph_zooms_pans_and_finds_a_node_by_name(browser, published_demo_run):
    from selenium.webdriver.common.by import By

    browser.get((published_demo_run / "03_rank.html").as_uri())
    graph = browser.find_element(By.CSS_SELECTOR, ".lg")
    browser.execute_script("arguments[0].scrollIntoView()", graph)
    start = _view_box(browser)
    assert start[:2] == [0, 0] and start[3] <= 640  # actual size, top left
    graph.find_element(By.CSS_SELECTOR, "button[data-zoom=in]").click()
    zoomed = _view_box(browser)
    assert zoomed[2] < start[2] and zoomed[3] < start[3]
    graph.find_element(By.CSS_SELECTOR, "button[data-zoom=fit]").click()
    fit = _view_box(browser)
    width, height = (float(graph.find_element(By.TAG_NAME, "svg").get_attribute(k)) for k in ("data-w", "data-h"))
    assert fit[2] >= width - 1 or fit[3] >= height - 1  # the whole graph in the box
    box = graph.find_element(By.CSS_SELECTOR, ".lg-box")
    browser.execute_script("""
        const box = arguments[0], r = box.getBoundingClientRect(), x = r.left + 200, y = r.top + 200;
        box.dispatchEvent(new MouseEvent('mousedown', {clientX: x, clientY: y, bubbles: true}));
        window.dispatchEvent(new MouseEvent('mousemove', {clientX: x - 120, clientY: y - 60, bubbles: true}));
        window.dispatchEvent(new MouseEvent('mouseup', {clientX: x - 120, clientY: y - 60, bubbles: true}));""", box)
    panned = _view_box(browser)
    assert panned[0] > fit[0] and panned[1] > fit[1] and panned[2:] == fit[2:]
    name = graph.find_element(By.CSS_SELECTOR, "g.n.focus text").get_attribute("textContent")  # runtimes vary
    search = graph.find_element(By.CSS_SELECTOR, ".lg-find")
    search.send_keys(name)
    found = graph.find_elements(By.CSS_SELECTOR, "g.n.found")
    texts = [n.find_element(By.TAG_NAME, "text").get_attribute("textContent") for n in found]
    assert name in texts and all(name.lower() in text.lower() for text in texts)
    assert graph.find_element(By.CSS_SELECTOR, ".lg-status").text == f"{len(found)} found"
    centred = _view_box(browser)
    x, y = (float(found[0].get_attribute(k)) for k in ("data-x", "data-y"))
    assert abs(centred[0] + centred[2] / 2 - x) < 1 and abs(centred[1] + centred[3] / 2 - y) < 1
    pairs = browser.execute_script("""return Array.from(document.querySelectorAll('.lg g.n')).map(g => [
        g.querySelector('text').textContent,
        g.querySelector('title').textContent.split('\\n').find(l => l.startsWith('name: ')).slice(6)])""")
    assert [label for label, name in pairs if label != name] == []  # whole names, none cut short
    assert _script_errors(browser) == []


def test_tables_sort_by_a_click_and_long_ones_filter(browser, published_demo_run):
    from selenium.webdriver.common.by import By

    browser.get((published_demo_run / "03_rank.html").as_uri())
    table = browser.find_element(By.CSS_SELECTOR, "table.metapipeline-table[data-filter]")
    heads = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    column = heads.index("importance")

    def values() -> list[str]:
        return browser.execute_script(
            "return Array.from(arguments[0].tBodies[0].rows).filter(r => r.style.display !== 'none')"
            ".map(r => r.cells[arguments[1]].textContent)", table, column)

    before = values()
    header = table.find_elements(By.CSS_SELECTOR, "thead th")[column]
    header.click()
    assert [float(v) for v in values()] == sorted(float(v) for v in before)
    header.click()
    assert [float(v) for v in values()] == sorted((float(v) for v in before), reverse=True)
    assert header.get_attribute("aria-sort") == "descending"
    box = browser.find_element(By.CSS_SELECTOR, ".metapipeline-filter input")
    box.send_keys("fct_")
    names = browser.execute_script(
        "return Array.from(arguments[0].tBodies[0].rows).filter(r => r.style.display !== 'none')"
        ".map(r => r.cells[0].textContent)", table)
    assert names and all("fct_" in n for n in names) and len(names) < len(before)
    assert browser.find_element(By.CSS_SELECTOR, ".metapipeline-filter span").text == \
        f"{len(names)} of {len(before)} rows"
    assert _script_errors(browser) == []


SCREENSHOTS = REPO / "runs" / "screenshots"
"""Where the browser tests leave their screenshots of a published demo run (runs/ is not committed)."""


def _screenshot(browser, name: str, element=None) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if element is not None:
        browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", element)
    assert browser.save_screenshot(str(path))
    return path


def test_screenshots_of_the_run_page_and_the_focused_orphan_view(browser, published_demo_run):
    from selenium.webdriver.common.by import By

    browser.get((published_demo_run / "index.html").as_uri())
    assert _screenshot(browser, "run_page").stat().st_size > 10_000
    browser.get((published_demo_run / "04_cleanup.html").as_uri())
    view = browser.find_element(By.CSS_SELECTOR, ".lg[id^=orphans]")
    assert _screenshot(browser, "orphan_view", view).stat().st_size > 10_000


def test_the_explorer_draws_offline_and_a_click_shows_the_nodes_details(browser, demo_run, tmp_path):
    pytest.importorskip("pyvis", reason="the explorer needs the lab extra (make test installs it)")
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from lineage_utils.publish.explorer_widget import explore

    explorer = explore(demo_run)
    explorer.search.value = "fct_partner_sales"
    page = tmp_path / "explorer.html"
    page.write_text(explorer_page_of(explorer), encoding="utf-8")
    browser.get(page.as_uri())
    assert _remote_resources(browser) == [] and _script_errors(browser) == []
    details = browser.find_element(By.ID, "details")
    assert "Why it is an orphan" in details.text and "Partner sales" in details.text  # the focus, first
    drawn = browser.execute_script("return window.metapipelineExplorer.body.data.nodes.getIds()")
    assert set(drawn) == set(explorer.current.graph)
    target = "model.metapipeline_demo.dim_customers"
    x, y = browser.execute_script(
        "const n = window.metapipelineExplorer, p = n.canvasToDOM(n.getPosition(arguments[0])); return [p.x, p.y]",
        target)
    canvas = browser.find_element(By.CSS_SELECTOR, "#net canvas")
    width, height = canvas.size["width"], canvas.size["height"]
    ActionChains(browser).move_to_element_with_offset(canvas, int(x - width / 2), int(y - height / 2)).click().perform()
    assert "dim_customers" in details.text and "Why it is an orphan" not in details.text
    assert _screenshot(browser, "explorer").stat().st_size > 10_000
    assert _script_errors(browser) == []


def explorer_page_of(explorer) -> str:
    import html
    import re

    return html.unescape(re.search(r'srcdoc="([^"]*)"', explorer.view.value).group(1))


PAYLOAD_REPORT = "SEO experiments <img src=x onerror=alert('seo')><script>alert(2)</script>"
"""The demo report whose name carries an HTML/JS payload (demo/EXPECTED.md): every page shows it as text."""


@pytest.mark.parametrize("page", ["04_cleanup", "01_crawl"])
def test_the_demo_payload_report_name_shows_as_text_and_fires_nothing(browser, published_demo_run, page):
    from selenium.webdriver.common.by import By

    from tests.publish.test_hostile_pages import DIALOG_TRAP, INJECTED

    if not getattr(browser, "_dialogs_trapped", False):  # once per browser: the trap cannot be redefined
        browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DIALOG_TRAP})
        browser._dialogs_trapped = True
    browser.get((published_demo_run / f"{page}.html").as_uri())
    if page == "04_cleanup":
        assert PAYLOAD_REPORT in browser.find_element(By.TAG_NAME, "body").text
    assert browser.execute_script("return window.__dialogs") == []
    assert browser.execute_script(INJECTED) == []
    assert browser.find_elements(By.CSS_SELECTOR, "img[src=x]") == []
    assert _script_errors(browser) == []
