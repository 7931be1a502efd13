"""history.invocations: what the store keeps of one run_results.json."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from lineage_utils.errors import ArtifactError
from lineage_utils.history.invocations import parse_invocation
from tests.history.builders import run_results


def test_an_invocation_keeps_id_version_command_and_node_timing():
    data = run_results("inv-1", "2026-10-01", [("model.p.a", "success", 1.5)])
    data["args"]["invocation_command"] = "dbt build -s +a"
    data["results"][0]["timing"][1]["started_at"] = "2026-10-01T04:00:00+02:00"
    inv = parse_invocation(data, Path("rr.json"))
    assert (inv.invocation_id, inv.dbt_version, inv.command, inv.demo) == ("inv-1", "1.10.2", "dbt build -s +a", False)
    assert inv.generated_at == datetime(2026, 10, 1, 3)
    assert inv.nodes[0].started_at == datetime(2026, 10, 1, 2)  # naive UTC
    assert inv.nodes[0].completed_at == datetime(2026, 10, 1, 2, 0, 30)


def test_the_command_falls_back_to_args_which_and_demo_data_is_recognised():
    data = run_results("inv-1", "2026-10-01", [])
    data["metadata"]["env"] = {"METAPIPELINE_DEMO_DATA": "generate.py"}
    inv = parse_invocation(data, Path("rr.json"))
    assert inv.command == "dbt build" and inv.demo and inv.nodes == ()


def test_a_bad_timestamp_names_the_file():
    data = run_results("inv-1", "2026-10-01", [("model.p.a", "success", 1.5)])
    data["results"][0]["timing"][1]["completed_at"] = "yesterday"
    with pytest.raises(ArtifactError, match=r"rr.json: model.p.a: not an ISO 8601 timestamp"):
        parse_invocation(data, Path("rr.json"))
