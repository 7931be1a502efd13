"""The published pages of a run whose crawl was incomplete: deletions withheld, said plainly.

The chain runs against the Mode stand-in with one report denied (403), so the crawl is
incomplete and ``cleanup.allow_incomplete`` is off: no page may list a model under
"Orphan models to remove"; the pages name the crawl's problem and show what would be
proposed once the crawl is complete.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import DEMO_PARAMS, MODE_DEMO, MODE_SECRET, MODE_TOKEN, demo_overrides

pytestmark = pytest.mark.slow

DENIED = "e9a11122b9f7"
TOKEN_ENV, SECRET_ENV = "MP_TEST_WITHHELD_TOKEN", "MP_TEST_WITHHELD_SECRET"


class _Text(HTMLParser):
    """The text a reader sees (scripts and styles left out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def page_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return re.sub(r"\s+", " ", " ".join(parser.parts))


@pytest.fixture(scope="module")
def withheld_run(demo_target, tmp_path_factory) -> Path:
    from lineage_utils.runner import run_chain
    from lineage_utils.testing import ModeStandIn

    root = tmp_path_factory.mktemp("withheld")
    with pytest.MonkeyPatch.context() as env, \
            ModeStandIn(MODE_DEMO, token=MODE_TOKEN, secret=MODE_SECRET) as standin:
        env.setenv(TOKEN_ENV, MODE_TOKEN)
        env.setenv(SECRET_ENV, MODE_SECRET)
        standin.deny_report(DENIED, 403)
        overrides = [*demo_overrides(demo_target, root / "runs"), "bi.source=mode_api",
                     f"bi.base_url={standin.base_url}", f"bi.state_dir={root / 'state'}", "bi.rate_limit=1000",
                     "bi.max_retries=1", f"bi.token_env={TOKEN_ENV}", f"bi.secret_env={SECRET_ENV}"]
        result = run_chain(DEMO_PARAMS, overrides, runs_dir=root / "runs", progress=False)
    assert result.failed is None
    return result.run_dir


def test_cleanup_page_lists_no_orphan_model_to_remove(withheld_run):
    text = page_text(withheld_run / "04_cleanup.html")
    assert "Orphan models to remove (" not in text
    assert re.search(r"orphan models to remove 0\b", text)
    assert "Would be proposed once the crawl is complete (" in text


def test_cleanup_page_says_why_deletions_are_withheld_naming_the_problem(withheld_run):
    text = page_text(withheld_run / "04_cleanup.html")
    assert "Deletion proposals are withheld" in text and "Not proposed for removal" in text
    assert DENIED in text.split("Would be proposed once the crawl is complete")[0]


def test_merge_page_labels_orphans_unconfirmed(withheld_run):
    text = page_text(withheld_run / "02_merge.html")
    assert "orphan in what was crawled (unconfirmed: crawl incomplete)" in text
    assert "The crawl was incomplete" in text and DENIED in text
