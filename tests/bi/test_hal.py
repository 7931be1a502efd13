"""The HAL helpers shared by the snapshot reader (strict) and the API client (lenient)."""

from __future__ import annotations

import pytest

from lineage_utils.bi.hal import embedded, link, query_node_id, report_node_id, username_from_href
from lineage_utils.errors import ArtifactError

DOC = {"_embedded": {"reports": [{"token": "a"}, "junk", {"token": "b"}]}, "_links": {"web": {"href": "/x"}}}


def test_lenient_embedded_keeps_only_objects():
    assert embedded(DOC, "reports") == [{"token": "a"}, {"token": "b"}]
    assert embedded({"_embedded": {}}, "reports") == [] and embedded("not a document", "reports") == []
    assert embedded({"_embedded": {"reports": {"a": 1}}}, "reports") == []


@pytest.mark.parametrize(("document", "message"), [
    ("not a document", r"f.json: expected a HAL document with '_embedded'"),
    ({"_embedded": {"reports": {"a": 1}}}, r"f.json: '_embedded.reports' is not a list"),
    (DOC, r"f.json: '_embedded.reports\[1\]' is a str, not an object"),
])
def test_strict_embedded_names_the_file_and_key(document, message):
    with pytest.raises(ArtifactError, match=message):
        embedded(document, "reports", strict=True, origin="f.json")


def test_strict_embedded_accepts_an_empty_listing():
    assert embedded({"_embedded": {}}, "reports", strict=True, origin="f.json") == []


def test_links_usernames_and_node_ids():
    assert link(DOC, "web") == "/x" and link(DOC, "creator") is None and link([], "web") is None
    assert username_from_href("/api/dana/") == "dana" and username_from_href("https://h/api/ana") == "ana"
    assert report_node_id("r1") == "mode.report.r1" and query_node_id("r1", "q1") == "mode.query.r1.q1"
