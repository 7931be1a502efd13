"""The Mode stand-in serves what the documentation says, over real HTTP on loopback."""

from __future__ import annotations

import gzip
import shutil

import pytest
import requests

from lineage_utils.testing.snapshot_reader import SnapshotFolderError, read_folder
from tests.conftest import MODE_DEMO, MODE_SECRET, MODE_TOKEN

AUTH = (MODE_TOKEN, MODE_SECRET)
WS = "metapipeline-demo"
COMMERCE = "524caa2b52fe"  # 11 reports, 1 dataset
PERSONAL = "2d1c99ec8d9c"


def get(standin, path, auth=AUTH, **params):
    return requests.get(standin.base_url + path, params=params, auth=auth, timeout=5)


def test_binds_an_ephemeral_loopback_port(mode_standin):
    assert mode_standin.base_url.startswith("http://127.0.0.1:")
    assert not mode_standin.base_url.endswith(":0")


def test_bad_credentials_get_401_unauthorized(mode_standin):
    response = get(mode_standin, "/api/verify", auth=(MODE_TOKEN, "wrong"))
    assert response.status_code == 401
    assert response.json()["id"] == "unauthorized"


def test_verify_names_the_workspace(mode_standin):
    assert get(mode_standin, "/api/verify").json()["workspace"] == WS


def test_unknown_paths_and_tokens_get_404_not_found(mode_standin):
    for path in (f"/api/{WS}/reports/000000000000", f"/api/{WS}/nothing", "/api/nobody", "/api/other/spaces"):
        response = get(mode_standin, path)
        assert (response.status_code, response.json()["id"]) == (404, "not_found"), path


def test_personal_spaces_only_with_filter_all(mode_standin):
    default = [s["token"] for s in get(mode_standin, f"/api/{WS}/spaces").json()["_embedded"]["spaces"]]
    every = [s["token"] for s in get(mode_standin, f"/api/{WS}/spaces", filter="all").json()["_embedded"]["spaces"]]
    custom = get(mode_standin, f"/api/{WS}/spaces", filter="custom").json()["_embedded"]["spaces"]
    assert PERSONAL in every and PERSONAL not in default and len(every) == len(default) + 1
    assert {s["space_type"] for s in custom} == {"custom"}


def test_collections_is_an_alias_of_spaces(mode_standin):
    spaces = get(mode_standin, f"/api/{WS}/spaces", filter="all").json()["_embedded"]
    collections = get(mode_standin, f"/api/{WS}/collections", filter="all").json()["_embedded"]
    assert collections == spaces
    listing = get(mode_standin, f"/api/{WS}/collections/{COMMERCE}/reports").json()
    assert len(listing["_embedded"]["reports"]) == 11


def test_spaces_pagination_block_has_the_spec_shape(mode_standin):
    mode_standin.spaces_page_size = 2
    body = get(mode_standin, f"/api/{WS}/spaces", filter="all", page=1).json()
    assert set(body["pagination"]) == {"first_page", "last_page", "total_pages", "total_count"}
    assert (body["pagination"]["total_pages"], body["pagination"]["total_count"]) == (3, 5)
    assert "next_page" in body["_links"]
    last = get(mode_standin, f"/api/{WS}/spaces", filter="all", page=3).json()
    assert len(last["_embedded"]["spaces"]) == 1 and "next_page" not in last["_links"]


def test_spaces_pagination_block_in_the_live_shape(mode_standin):
    mode_standin.pagination_shape = "live"
    body = get(mode_standin, f"/api/{WS}/spaces", filter="all", per_page=2, page=2).json()
    assert body["pagination"] == {"page": 2, "per_page": 2, "count": 2, "total_pages": 3, "total_count": 5}


def test_report_pages_have_no_pagination_block_and_end_empty(mode_standin):
    mode_standin.page_size = 4
    pages = [get(mode_standin, f"/api/{WS}/spaces/{COMMERCE}/reports", page=n).json() for n in (1, 2, 3, 4)]
    assert [len(p["_embedded"]["reports"]) for p in pages] == [4, 4, 3, 0]
    assert all("pagination" not in p and "next_page" not in p["_links"] for p in pages)


def test_report_pages_ignore_per_page(mode_standin):
    mode_standin.page_size = 4
    body = get(mode_standin, f"/api/{WS}/spaces/{COMMERCE}/reports", per_page=100).json()
    assert len(body["_embedded"]["reports"]) == 4


def test_datasets_are_listed_under_reports(mode_standin):
    items = get(mode_standin, f"/api/{WS}/spaces/{COMMERCE}/datasets").json()["_embedded"]["reports"]
    assert [r["type"] for r in items] == ["DatasetReport"]


def report_page(standin, page, listing="reports"):
    return get(standin, f"/api/{WS}/spaces/{COMMERCE}/{listing}", page=page).json()


def tokens_of(body):
    return [r["token"] for r in body["_embedded"]["reports"]]


def test_repeat_page_serves_the_page_before_then_recovers(mode_standin):
    mode_standin.page_size = 3
    first, second = tokens_of(report_page(mode_standin, 1)), tokens_of(report_page(mode_standin, 2))
    mode_standin.repeat_page(COMMERCE, page=2, times=2)
    assert [tokens_of(report_page(mode_standin, 2)) for _ in range(3)] == [first, first, second]


def test_delete_after_page_shifts_the_later_pages_by_one(mode_standin):
    mode_standin.page_size = 3
    before = [t for n in (1, 2, 3, 4) for t in tokens_of(report_page(mode_standin, n))]
    mode_standin.delete_after_page(COMMERCE, page=1)
    assert tokens_of(report_page(mode_standin, 1)) == before[:3]
    assert before[2] not in mode_standin.reports
    assert tokens_of(report_page(mode_standin, 2)) == before[4:7]  # the neighbour before[3] moved to page 1
    assert tokens_of(report_page(mode_standin, 1)) == [before[0], before[1], before[3]]  # once: nothing more deleted


def test_endless_listing_always_has_a_full_page_and_a_next_link(mode_standin):
    mode_standin.page_size = 3
    mode_standin.endless_listing(COMMERCE, total_count=7, stop_after=5)
    pages = [report_page(mode_standin, n) for n in range(1, 7)]
    assert [len(p["_embedded"]["reports"]) for p in pages] == [3, 3, 3, 3, 3, 0]
    assert all("next_page" in p["_links"] and p["pagination"]["total_count"] == 7 for p in pages[:5])
    assert len({t for p in pages for t in tokens_of(p)}) == 15
    token = tokens_of(pages[0])[0]
    assert get(mode_standin, f"/api/{WS}/reports/{token}/queries").json()["_embedded"]["queries"] == []
    assert tokens_of(report_page(mode_standin, 1, "datasets")) == [r["token"] for r in mode_standin.reports.values()
                                                                   if r["space_token"] == COMMERCE
                                                                   and r["type"] == "DatasetReport"]


def test_queries_data_sources_definitions_and_creator(mode_standin):
    report = get(mode_standin, f"/api/{WS}/spaces/{COMMERCE}/reports").json()["_embedded"]["reports"][0]
    queries = get(mode_standin, f"/api/{WS}/reports/{report['token']}/queries").json()["_embedded"]["queries"]
    assert queries and all("raw_query" in q for q in queries)
    assert get(mode_standin, f"/api/{WS}/data_sources").json()["_embedded"]["data_sources"]
    assert get(mode_standin, f"/api/{WS}/definitions").json()["_embedded"]["definitions"]
    assert get(mode_standin, report["_links"]["creator"]["href"]).json()["username"] == "lee_chen"


def test_rate_limit_answers_429_with_retry_after(tmp_path):
    from lineage_utils.testing import ModeStandIn

    with ModeStandIn(MODE_DEMO, token=MODE_TOKEN, secret=MODE_SECRET, rate_limit=2) as standin:
        statuses = [get(standin, "/api/verify") for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 429, 429]
    limited = statuses[2]
    assert limited.json()["id"] == "rate_limited"
    assert limited.headers["Retry-After"] == "1"  # half a second to the next token, rounded up to whole seconds
    assert statuses[0].headers["X-RateLimit-Limit"] == "2"


def test_archive_unarchive_and_delete(mode_standin):
    base = f"{mode_standin.base_url}/api/{WS}/reports/e9a11122b9f7"
    archived = requests.patch(base + "/archive", auth=AUTH, timeout=5).json()
    assert archived["archived"] is True
    assert requests.patch(base + "/unarchive", auth=AUTH, timeout=5).json()["archived"] is False
    deleted = requests.delete(base, auth=AUTH, timeout=5)
    assert (deleted.status_code, deleted.content) == (200, b"")
    assert requests.get(base, auth=AUTH, timeout=5).status_code == 404


def test_scripted_faults_hit_only_matching_requests(mode_standin):
    mode_standin.fail(r"/definitions$", status=502, times=2)
    assert get(mode_standin, f"/api/{WS}/data_sources").status_code == 200
    assert [get(mode_standin, f"/api/{WS}/definitions").status_code for _ in range(3)] == [502, 502, 200]
    assert mode_standin.requests_to("/definitions$") == 3


def test_dropped_connection_gets_no_response(mode_standin):
    mode_standin.drop_connections(r"/verify$")
    try:
        get(mode_standin, "/api/verify")
    except requests.ConnectionError:
        pass
    else:
        raise AssertionError("the connection was not dropped")
    assert get(mode_standin, "/api/verify").status_code == 200


def test_write_snapshot_dir_round_trips_a_folder(tmp_path):
    from lineage_utils.bi.snapshot import read_snapshot_dir, write_snapshot_dir

    bundle = read_snapshot_dir(MODE_DEMO)
    written = write_snapshot_dir(bundle, tmp_path / "copy")
    assert read_snapshot_dir(written) == bundle
    assert read_folder(written) == read_folder(MODE_DEMO)  # checked by a reader the product does not share


SERVED = ("workspace", "spaces", "reports", "queries", "data_sources", "definitions", "users")


def test_own_reader_agrees_with_the_product_reader_on_the_demo():
    from lineage_utils.bi.snapshot import read_snapshot_dir
    product, own = read_snapshot_dir(MODE_DEMO), read_folder(MODE_DEMO)
    assert sorted(own) == sorted(SERVED)
    for key in SERVED:
        assert own[key] == product[key], key


def test_own_reader_reads_gzipped_files_and_names_a_missing_one(tmp_path):
    copy = shutil.copytree(MODE_DEMO, tmp_path / "ws")
    for path in [*copy.glob("spaces/*/reports.json"), copy / "data_sources.json", *copy.glob("users/*.json")]:
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    assert read_folder(copy) == read_folder(MODE_DEMO)
    (copy / "reports" / "e9a11122b9f7" / "queries.json").unlink()
    with pytest.raises(SnapshotFolderError, match=r"reports/e9a11122b9f7/queries\.json: required file not found"):
        read_folder(copy)


def test_standin_serves_its_own_reading_of_the_folder(mode_standin):
    own = read_folder(MODE_DEMO)
    assert mode_standin.spaces == own["spaces"]
    assert mode_standin.reports == {r["token"]: r for r in own["reports"]}
    assert mode_standin.queries == own["queries"] and mode_standin.users == own["users"]
