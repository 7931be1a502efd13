"""Redaction: every form of a secret leaves text, at the client and again where failures are stored."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest

from lineage_utils.redact import BODY_LIMIT, REDACTED, cap, redact, redact_body, secret_forms, secrets_from_env

TOKEN, SECRET = "tok+Leaky/7f3a9c", 's3/cr+t=k&y%Z"q9Lm2'


def forms(token: str = TOKEN, secret: str = SECRET) -> dict[str, str]:
    basic = base64.b64encode(f"{token}:{secret}".encode()).decode()
    return {"raw token": token, "raw secret": secret, "basic auth": basic, "basic auth unpadded": basic.rstrip("="),
            "base64 token": base64.b64encode(token.encode()).decode(),
            "base64 secret": base64.b64encode(secret.encode()).decode(),
            "urlsafe base64": base64.urlsafe_b64encode(f"{token}:{secret}".encode()).decode(),
            "quoted secret": quote(secret, safe=""), "quoted token": quote(token), "quote_plus": quote_plus(secret),
            "lower-case escapes": quote(secret, safe="").lower(), "json-escaped secret": json.dumps(secret)[1:-1]}


@pytest.mark.parametrize("form", forms().values(), ids=forms().keys())
def test_every_form_is_redacted(form):
    text = redact(f"before {form} after", (TOKEN, SECRET))
    assert text == f"before {REDACTED} after"


def test_the_longest_form_wins_so_no_fragment_is_left():
    basic = base64.b64encode(f"{TOKEN}:{SECRET}".encode()).decode()
    assert redact(f"Authorization: Basic {basic}", (TOKEN, SECRET)) == "Authorization: Basic ***"
    assert secret_forms((TOKEN, SECRET))[0] == max(secret_forms((TOKEN, SECRET)), key=len)


def test_empty_secrets_and_text_are_left_alone():
    assert redact("nothing secret", ()) == "nothing secret"
    assert redact("", (TOKEN,)) == ""
    assert redact("a b", ("", "")) == "a b"


def test_a_body_is_redacted_before_it_is_cut():
    """Cutting first could leave the start of a secret behind the cut; redaction comes first."""
    body = "x" * (BODY_LIMIT - 10) + SECRET + "y" * 1000
    text = redact_body(body, (SECRET,))
    assert len(text) <= BODY_LIMIT and SECRET[:8] not in text and text.endswith("...")


def test_cap_collapses_whitespace_onto_one_line():
    assert cap("a\n  b\tc", 10) == "a b c"
    assert cap("abcdefghijkl", 8) == "abcde..."


def test_secrets_from_env_reads_only_set_variables(monkeypatch):
    monkeypatch.setenv("MP_T_SET", "v1")
    monkeypatch.delenv("MP_T_UNSET", raising=False)
    assert secrets_from_env(["MP_T_SET", "MP_T_UNSET", ""]) == ("v1",)


def test_the_runner_redacts_failure_info_a_second_time():
    """Even if an error text reached the kernel unredacted, run.json never holds it."""
    from papermill.exceptions import PapermillExecutionError

    from lineage_utils.runner import _failure_info

    leaked = " ".join(forms().values())
    exc = PapermillExecutionError(cell_index=3, exec_count=4, source="crawled = stages.crawl(run)",
                                  ename="BIApiError", evalue=f"Mode API GET /api/verify: HTTP 403: {leaked}",
                                  traceback=[])
    for failure in (_failure_info("01_crawl", exc, (TOKEN, SECRET)),
                    _failure_info("01_crawl", RuntimeError(leaked), (TOKEN, SECRET))):
        stored = json.dumps([failure.evalue, failure.label, failure.describe()])
        for form in forms().values():
            assert form not in stored
        assert REDACTED in failure.evalue
