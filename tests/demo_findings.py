"""What a run folder found, in the shape of demo/EXPECTED.md's YAML block, so tests compare with `==`.

`found(run)` reads only stored artifacts (the decisions 02_merge and 04_cleanup made);
`wanted(expected)` puts the YAML block in the same shape. Both the in-process chain test
and the papermill chain test compare every key with `==`, so a value that appears, or
goes missing, fails the test naming the key.
"""

from __future__ import annotations

from typing import Any

from lineage_utils import stages
from lineage_utils.lineage.orphans import keepers_in
from lineage_utils.params import load_yaml
from lineage_utils.run_folder import Run

ORDINARY_KEEPER = "active_report"
"""What keeps most live models alive; every other keeper is "one special link"."""

ANSWERS = ("counts", "stale_reports", "orphan_models", "protected_models", "ambiguous_references",
           "unparsed_queries", "generated_exposures")
"""The keys of EXPECTED.md's YAML block a run answers (``now`` is an input, not an answer)."""


def dbt_reference(unique_id: str) -> str:
    """`ref('x')` / `source('s', 't')` written from the unique_id alone (not the product's renderer)."""
    kind, _package, rest = unique_id.split(".", 2)
    if kind == "source":
        source, table = rest.split(".", 1)
        return f"source('{source}', '{table}')"
    return f"ref('{rest}')"


def _counts(run: Run, wanted_keys: list[str]) -> dict[str, Any]:
    summary = run.read_json("summary")
    reports = run.read_frame("reports")
    derived = {"archived_reports": int(reports["archived"].sum()),
               "datasets": int((reports["type"] == "DatasetReport").sum())}
    return {key: derived[key] if key in derived else summary.get(key, "<not in summary.json>") for key in wanted_keys}


def _ambiguous(run: Run) -> dict[str, Any]:
    refs = run.read_frame("query_refs")
    by_name: dict[str, set[tuple[str, ...]]] = {}
    for row in refs[refs["status"] == "ambiguous"].itertuples():
        by_name.setdefault(str(row.name).lower(), set()).add(tuple(sorted(row.candidates)))
    # one candidate list per name; a name read with differing candidate lists shows them all (and fails)
    return {name: list(next(iter(lists))) if len(lists) == 1 else sorted(map(list, lists))
            for name, lists in by_name.items()}


def _exposures(run: Run) -> dict[str, list[str]]:
    doc = load_yaml(run.read_text("exposures"), "exposures.yml")
    return {e["meta"]["metapipeline"]["mode_report_token"]: list(e["depends_on"]) for e in doc["exposures"]}


def found(run: Run, expected: dict[str, Any]) -> dict[str, Any]:
    """Every answer of the run, keyed and shaped like EXPECTED.md's YAML block."""
    stale = run.read_frame("stale_reports")
    orphans = run.read_frame("orphan_models")
    refs = run.read_frame("query_refs")
    unparsed = refs[refs["status"] == "unparsed"]
    keepers = keepers_in(stages.load_graph(run))
    special = {model: sorted(set(kinds) - {ORDINARY_KEEPER}) for model, kinds in keepers.items()}
    return {
        "counts": _counts(run, list(expected["counts"])),
        "stale_reports": {row.token: sorted(row.rules) for row in stale.itertuples()},
        "orphan_models": dict(zip(orphans["unique_id"], orphans["reason"])),
        "protected_models": {model: kinds for model, kinds in special.items() if kinds},
        "ambiguous_references": _ambiguous(run),
        "unparsed_queries": sorted(unparsed["report_token"] + "." + unparsed["query_token"]),
        "generated_exposures": _exposures(run),
    }


def wanted(expected: dict[str, Any]) -> dict[str, Any]:
    """EXPECTED.md's YAML block in the shape `found` returns."""
    return {
        "counts": dict(expected["counts"]),
        "stale_reports": {token: sorted(rules) for token, rules in expected["stale_reports"].items()},
        "orphan_models": dict(expected["orphan_models"]),
        "protected_models": {model: [why] if isinstance(why, str) else sorted(why)  # one link, or a list of them
                             for model, why in expected["protected_models"].items()},
        "ambiguous_references": {name.lower(): sorted(c) for name, c in expected["ambiguous_references"].items()},
        "unparsed_queries": sorted(expected["unparsed_queries"]),
        "generated_exposures": {token: [dbt_reference(uid) for uid in uids]
                                for token, uids in expected["generated_exposures"].items()},
    }


def differences(run: Run, expected: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each answer the run got wrong -> what it found and what EXPECTED.md wants (empty when all are right)."""
    answers, truth = found(run, expected), wanted(expected)
    return {key: {"found": answers[key], "wanted": truth[key]} for key in ANSWERS if answers[key] != truth[key]}
