"""Generated exposures: valid names, stable YAML, and real dbt accepts them."""

from __future__ import annotations

import json
import re

import networkx as nx
import pytest
import yaml

from lineage_utils.dbt.artifacts import load_manifest
from lineage_utils.dbt.build import run_dbt
from lineage_utils.dbt.exposures import exposure_name, jinja_inert, plan_exposures, render_exposures_yaml
from lineage_utils.testing import payloads


@pytest.mark.parametrize("name, token, expected", [
    ("Revenue & Churn (Q3)", "abc123def456", "mode_revenue_churn_q3_abc123def456"),
    ("<script>alert(1)</script>", "abc123def456", "mode_script_alert_1_script_abc123def456"),
    ("", "abc123def456", "mode_abc123def456"),
    ("Ünïcode ñame", "0a0a0a0a0a0a", "mode_n_code_ame_0a0a0a0a0a0a"),
])
def test_exposure_names_are_valid_identifiers(name, token, expected):
    result = exposure_name(name, token)
    assert result == expected
    assert re.fullmatch(r"[a-z0-9_]+", result)


@pytest.mark.slow
def test_real_dbt_parses_generated_exposures(demo_run, demo_project_copy, demo_expected, tmp_path):
    """Drop exposures.yml into a copy of the demo project: `dbt parse` accepts it and links it."""
    (demo_project_copy / "models" / "metapipeline_exposures.yml").write_text(demo_run.read_text("exposures"))
    target = tmp_path / "target"
    result = run_dbt(demo_project_copy, target, "parse")
    assert result.returncode == 0, result.stdout[-3000:]
    project = load_manifest(target / "manifest.json")
    generated = {e.meta["metapipeline"]["mode_report_token"]: e for e in project.exposures.values()
                 if e.meta.get("metapipeline")}
    assert set(generated) == set(demo_expected["generated_exposures"])
    for token, depends in demo_expected["generated_exposures"].items():
        assert sorted(generated[token].depends_on) == sorted(depends), token


# -- outside text is inert: Jinja, YAML, invisible characters, links -------------------------
HOME_CANARY = "home-canary-5b0e9d41"
ENV_CANARY = "env-canary-c3f18a77"
HOSTILE = (*payloads.NAMES, "{{ env_var('METAPIPELINE_CANARY') }}", "{{ env_var('HOME') }}\n", "a\r\nb }}",
           "{{{{ nested }}}}", "{%- raw -%}{{ x }}{%- endraw -%}")
READ_MODEL = "model.metapipeline_demo.fin_mrr"
RAW_PROBE = """version: 2
exposures:
  - name: raw_probe
    label: "{{ 7*7 }}"
    type: dashboard
    url: "{{ 7*7 }}"
    description: "{{ 7*7 }}"
    owner: {name: "{{ 7*7 }}", email: "{{ 7*7 }}"}
    depends_on: ["ref('fin_mrr')"]
    meta: {m: "{{ 7*7 }}"}
    tags: ["{{ 7*7 }}"]
"""
"""An exposure written raw, as metapipeline used to: shows which fields `dbt parse` renders."""


def hostile_graph(names, urls=()) -> tuple[nx.DiGraph, dict]:
    """One active report per name, created by a user of that name, reading fin_mrr."""
    graph = nx.DiGraph()
    graph.add_node(READ_MODEL, kind="model", name="fin_mrr")
    users = {}
    for i, name in enumerate(names):
        token = f"{i:012x}"
        query, report = f"mode.query.{token}.q", f"mode.report.{token}"
        graph.add_node(query, kind="bi_query")
        graph.add_node(report, kind="bi_report", active=True, name=name, token=token, creator=f"user{i}",
                       web_url=urls[i] if i < len(urls) else f"https://bi.example/reports/{token}")
        graph.add_edge(READ_MODEL, query, provenance="sql", status="resolved", conditional=False)
        graph.add_edge(query, report, provenance="query")
        users[f"user{i}"] = {"name": name, "email": name}
    return graph, users


@pytest.mark.parametrize("text", HOSTILE + payloads.URLS)
def test_jinja_inert_renders_back_to_itself(text):
    from jinja2.sandbox import SandboxedEnvironment

    assert SandboxedEnvironment().from_string(jinja_inert(text)).render() == text


@pytest.mark.parametrize("text", ["Revenue & churn", "plain } { text %", "50% off #1", ""])
def test_text_without_jinja_markers_is_not_altered(text):
    assert jinja_inert(text) == text


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_round_trips_through_the_yaml(text):
    graph, users = hostile_graph([text])
    (planned,) = plan_exposures(graph, users, "ws")
    (item,) = yaml.safe_load(render_exposures_yaml(graph, [planned]))["exposures"]  # PyYAML, as dbt reads it
    assert item["label"] == jinja_inert(text) and item["owner"]["name"] == jinja_inert(text)
    assert item["description"] == jinja_inert(planned.description)
    assert item["owner"]["email"] == jinja_inert(text)


@pytest.mark.parametrize("url", payloads.URLS[:5] + payloads.URLS[6:7] + payloads.URLS[8:]
                         + ("https://bi.example/r\u202e/x", "ftp://bi.example/r", "https:///nohost"))
def test_a_link_that_is_not_http_is_left_out_and_recorded(url):
    graph, users = hostile_graph(["Report"], urls=[url])
    (planned,) = plan_exposures(graph, users, "ws")
    assert planned.url is None and planned.refused_url == url
    (item,) = yaml.safe_load(render_exposures_yaml(graph, [planned]))["exposures"]
    assert "url" not in item


@pytest.mark.slow
def test_real_dbt_parse_keeps_hostile_text_verbatim(demo_project_copy, tmp_path, monkeypatch):
    """`dbt parse` renders exposure strings as Jinja: every one comes back as written, nothing runs."""
    monkeypatch.setenv("HOME", str(tmp_path / HOME_CANARY))
    monkeypatch.setenv("METAPIPELINE_CANARY", ENV_CANARY)
    links = [f"https://bi.example/r/{i}?q={{{{7*7}}}}#{{%x%}}" for i in range(len(HOSTILE))]
    graph, users = hostile_graph(HOSTILE, urls=links)
    planned = plan_exposures(graph, users, "ws")
    (demo_project_copy / "models" / "metapipeline_exposures.yml").write_text(
        render_exposures_yaml(graph, planned), encoding="utf-8")
    (demo_project_copy / "models" / "probe_exposures.yml").write_text(RAW_PROBE, encoding="utf-8")
    target = tmp_path / "target"
    result = run_dbt(demo_project_copy, target, "parse")
    assert result.returncode == 0, result.stdout[-3000:]
    text = (target / "manifest.json").read_text(encoding="utf-8")
    assert HOME_CANARY not in text and ENV_CANARY not in text
    probe = json.loads(text)["exposures"]["exposure.metapipeline_demo.raw_probe"]
    rendered = {"label": probe["label"], "description": probe["description"], "url": probe["url"],
                "owner.name": probe["owner"]["name"], "owner.email": probe["owner"]["email"],
                "meta": probe["meta"]["m"], "tags": probe["tags"][0]}
    assert rendered == dict.fromkeys(rendered, "49")  # what dbt renders as Jinja: every string field we write
    parsed = {e["name"]: e for e in json.loads(text)["exposures"].values()}
    assert len(planned) == len(HOSTILE)
    for exp in planned:
        got = parsed[exp.name]
        assert (got["label"], got["description"]) == (exp.label, exp.description)
        assert (got["owner"]["name"], got["owner"]["email"]) == (exp.owner_name, exp.owner_email)
        assert got["url"] == exp.url and "{{7*7}}" in got["url"]
        assert got["meta"]["metapipeline"]["mode_report_token"] == exp.report_token
        assert got["depends_on"]["nodes"] == [READ_MODEL]


@pytest.mark.parametrize("link", ["https://evil.example/reports/r0", "https://app.mode.com@evil.example/",
                                  "http://[::1]:1/", "javascript:alert(1)"])
def test_the_exposure_url_is_built_from_the_token_on_the_bi_host_never_taken_from_the_data(link):
    graph, users = hostile_graph(["Report"], urls=[link])
    [planned] = plan_exposures(graph, users, "ws", lambda token: f"https://app.mode.com/ws/reports/{token}")
    assert planned.url == f"https://app.mode.com/ws/reports/{planned.report_token}"
    assert "evil" not in render_exposures_yaml(graph, [planned]) and "javascript" not in render_exposures_yaml(graph, [planned])
