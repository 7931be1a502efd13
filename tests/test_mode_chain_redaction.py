"""The chain against a Mode host that echoes credentials in its error bodies: no form of them is kept.

The stand-in echoes the request's ``Authorization`` header (base64 of ``token:secret``),
the decoded credentials and a login URL carrying them URL-encoded in every error body.
Whatever the run shows or stores -- stderr, log records, run.json, index.html, the
executed notebooks and their HTML, data/, the crawl state -- holds none of these forms.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from lineage_utils.runner import ChainFailed, run_chain
from lineage_utils.testing import ModeStandIn
from tests.bi.mode.test_client_faults import LEAKY_SECRET, LEAKY_TOKEN, secret_forms
from tests.conftest import DEMO_PARAMS, MODE_DEMO, demo_overrides

REPORT = "e9a11122b9f7"


@pytest.fixture
def leaky_standin(monkeypatch):
    monkeypatch.setenv("MODE_API_TOKEN", LEAKY_TOKEN)
    monkeypatch.setenv("MODE_API_SECRET", LEAKY_SECRET)
    with ModeStandIn(MODE_DEMO, token=LEAKY_TOKEN, secret=LEAKY_SECRET) as standin:
        standin.echo_headers = True
        yield standin


def run_against(standin, demo_target: Path, tmp_path: Path):
    overrides = demo_overrides(demo_target, tmp_path / "runs") + [
        "bi.source=mode_api", f"bi.base_url={standin.base_url}", f"bi.state_dir={tmp_path / 'state'}",
        "bi.rate_limit=100", "bi.max_retries=1", "bi.workers=4"]
    return run_chain(DEMO_PARAMS, overrides, runs_dir=tmp_path / "runs", progress=False)


def assert_nothing_holds_a_secret(tmp_path: Path, *texts: str) -> int:
    forms = [f for f in secret_forms(LEAKY_TOKEN, LEAKY_SECRET) if len(f) >= 4]
    scanned = 0
    for path in sorted(p for p in tmp_path.rglob("*") if p.is_file()):
        data = path.read_bytes().decode("utf-8", "replace")
        scanned += 1
        for form in forms:
            assert form not in data, f"{path.relative_to(tmp_path)} holds {form!r}"
    for text in texts:
        for form in forms:
            assert form not in text, f"{form!r} reached the output"
    return scanned


@pytest.mark.slow
def test_a_run_failing_on_an_echoing_host_stores_no_credentials(leaky_standin, demo_target, tmp_path, capfd,
                                                                  caplog):
    caplog.set_level(logging.DEBUG)
    leaky_standin.fail(r"/spaces$", status=403, times=100)
    with pytest.raises(ChainFailed) as caught:
        run_against(leaky_standin, demo_target, tmp_path)
    result = caught.value.result
    assert result.failed is not None and result.failed.notebook == "01_crawl"
    assert "HTTP 403" in result.failed.evalue and "***" in result.failed.evalue
    run_dir = result.run_dir
    assert {"run.json", "index.html", "01_crawl.ipynb", "01_crawl.html"} <= {p.name for p in run_dir.iterdir()}
    assert "HTTP 403" in (run_dir / "run.json").read_text()
    out, err = capfd.readouterr()
    scanned = assert_nothing_holds_a_secret(tmp_path, str(caught.value), out, err, caplog.text)
    assert scanned >= 5


@pytest.mark.slow
def test_a_crawl_error_from_an_echoing_host_is_stored_redacted(leaky_standin, demo_target, tmp_path, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    leaky_standin.deny_report(REPORT, 403)
    result = run_against(leaky_standin, demo_target, tmp_path)
    status = (result.run_dir / "data" / "crawl_status.json").read_text()
    assert '"complete": false' in status and "HTTP 403" in status and "***" in status
    assert REPORT in (result.run_dir / "01_crawl.html").read_text()
    assert any(result.run_dir.glob("*.html")) and any(result.run_dir.glob("*.ipynb"))
    out, err = capfd.readouterr()
    scanned = assert_nothing_holds_a_secret(tmp_path, out, err, caplog.text)
    assert scanned > 20
