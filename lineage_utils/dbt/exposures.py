"""dbt exposures generated from the BI side: one per active report that reads dbt nodes.

An exposure lists what the report reads through *resolved*, unconditional references,
directly or through the datasets it imports. Ambiguous and conditional reads protect
models but are not written as dependencies: an exposure states facts.

Every string from outside (report name, creator, description, URL, token) is written
inert: `dbt parse` renders each string field of an exposure as Jinja (label,
description, owner name and email, url, meta values, tags: measured on dbt-core 1.11),
so ``jinja_inert`` turns each Jinja opener into an expression that renders back to
itself, and every such value is written double-quoted, so YAML reads it back as the
same string. A URL that is not http(s) is left out and the refusal kept on the record.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import networkx as nx
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

logger = logging.getLogger(__name__)

_JINJA_OPENER = re.compile(r"\{[{%#]")
_DBT_RENDERS = re.compile(r"\{[{%#]|[#}%]\}")
"""dbt renders a YAML string only when this matches (``dbt.clients.jinja._HAS_RENDER_CHARS_PAT``)."""
_URL_OK = re.compile(r"https?://[^\s/?#@\\]+(?:[/?#]\S*)?", re.ASCII | re.IGNORECASE)
"""An absolute http(s) URL: a host without a user part (``https://bi.example@evil.example``)."""


@dataclass(frozen=True)
class PlannedExposure:
    name: str
    label: str
    report_token: str
    url: str | None
    owner_name: str
    owner_email: str | None
    description: str
    depends_on: tuple[str, ...]  # unique_ids, sorted
    refused_url: str | None = None  # the report's link when it was not an http(s) URL (left out)


def jinja_inert(text: str) -> str:
    """``text`` as a string that Jinja (``dbt parse``) renders back to exactly ``text``.

    Each ``{{``, ``{%`` and ``{#`` becomes ``{{ '{{' }}`` (and so on). When dbt will render
    the string, a carriage return and a final newline, which Jinja would normalise or
    drop, are written as expressions too. Text without Jinja markers is unchanged.
    """
    inert = _JINJA_OPENER.sub(lambda m: "{{ '" + m.group(0) + "' }}", text)
    if not _DBT_RENDERS.search(inert):
        return inert
    inert = inert.replace("\r", "{{ '\\r' }}")
    return inert[:-1] + "{{ '\\n' }}" if inert.endswith("\n") else inert


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL with a host and no user part, else None."""
    if not url or not _URL_OK.fullmatch(url) or not url.isprintable():
        return None
    return url


def exposure_name(report_name: str, token: str) -> str:
    """A valid, stable dbt exposure name: mode_<slug>_<token>."""
    slug = re.sub(r"[^a-z0-9]+", "_", report_name.lower()).strip("_")[:40].strip("_")
    return f"mode_{slug}_{token}" if slug else f"mode_{token}"


def resolved_reads(graph: nx.DiGraph, query_ids: Iterable[str]) -> set[str]:
    reads = set()
    for query in query_ids:
        for parent in graph.predecessors(query):
            data = graph.edges[parent, query]
            if data.get("provenance") == "sql" and data.get("status") == "resolved" and not data.get("conditional"):
                reads.add(parent)
    return reads


def _queries_of(graph: nx.DiGraph, report_id: str) -> list[str]:
    return [p for p in graph.predecessors(report_id) if graph.nodes[p].get("kind") == "bi_query"]


def plan_exposures(graph: nx.DiGraph, users: Mapping[str, Mapping[str, str | None]],
                   workspace: str, report_link: Callable[[str], str | None] | None = None) -> list[PlannedExposure]:
    """One exposure per active report that reads dbt nodes, sorted by name.

    ``report_link`` builds a report's URL from its token on the configured BI host;
    without it the report's own link is used when it is a plain http(s) URL. A link
    from the data that is not is left out, kept as ``refused_url`` and logged once.
    """
    planned = []
    refused_links = []
    for node, attrs in graph.nodes(data=True):
        if attrs.get("kind") != "bi_report" or not attrs.get("active"):
            continue
        queries = _queries_of(graph, node)
        for parent in graph.predecessors(node):
            if graph.edges[parent, node].get("provenance") == "dataset":
                queries += _queries_of(graph, parent)
        reads = resolved_reads(graph, queries)
        if not reads:
            continue
        user = users.get(attrs.get("creator") or "", {})
        link = attrs.get("web_url")
        refused = link if link and safe_url(link) is None else None
        url = report_link(attrs["token"]) if report_link is not None else safe_url(link)
        if refused:
            refused_links.append(attrs["token"])
        planned.append(PlannedExposure(
            name=exposure_name(attrs["name"], attrs["token"]), label=attrs["name"], report_token=attrs["token"],
            url=url, refused_url=refused,
            owner_name=user.get("name") or attrs.get("creator") or f"Mode workspace {workspace}",
            owner_email=user.get("email"),
            description=f"Mode report '{attrs['name']}' ({attrs['token']}), generated by metapipeline.",
            depends_on=tuple(sorted(reads)),
        ))
    if refused_links:
        logger.warning("%d report link(s) are not http(s) URLs and were not used (reports %s)", len(refused_links),
                       ", ".join(refused_links[:10]) + (" ..." if len(refused_links) > 10 else ""))
    return sorted(planned, key=lambda e: e.name)


def _text(value: str) -> DoubleQuotedScalarString:
    """An outside string as written to exposures.yml: Jinja-inert and double-quoted."""
    return DoubleQuotedScalarString(jinja_inert(str(value)))


def dbt_reference(graph: nx.DiGraph, unique_id: str) -> str:
    """`ref('x')` / `ref('pkg', 'x')` / `source('s', 't')` for a node id."""
    attrs = graph.nodes[unique_id]
    if attrs.get("kind") == "source":
        return f"source('{attrs.get('source_name')}', '{attrs.get('name')}')"
    return f"ref('{attrs.get('name')}')"


def render_exposures_yaml(graph: nx.DiGraph, planned: Iterable[PlannedExposure]) -> str:
    """Canonical YAML for a dbt `exposures:` file (sorted, stable)."""
    exposures = []
    for exp in planned:
        owner = {"name": _text(exp.owner_name)}
        if exp.owner_email:
            owner["email"] = _text(exp.owner_email)
        item = {
            "name": exp.name,
            "label": _text(exp.label),
            "type": "dashboard",
            "maturity": "medium",
            "description": _text(exp.description),
            "owner": owner,
            "depends_on": [dbt_reference(graph, uid) for uid in exp.depends_on],
            "meta": {"metapipeline": {"generated": True, "mode_report_token": _text(exp.report_token)}},
            "tags": ["metapipeline"],
        }
        url = safe_url(exp.url)
        if url:
            item["url"] = _text(url)
        exposures.append(item)
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = io.StringIO()
    buffer.write("# Generated by metapipeline from the Mode workspace. Do not edit by hand:\n")
    buffer.write("# the next run rewrites it.\n")
    yaml.dump({"version": 2, "exposures": exposures}, buffer)
    return buffer.getvalue()
