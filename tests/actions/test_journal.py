"""The action journal: append-only, keyed, crash-tolerant."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from lineage_utils.actions.journal import Journal, action_key, journal_path, read_journal
from lineage_utils.actions.records import Action
from lineage_utils.bi.adapter import ActionResult
from lineage_utils.errors import ArtifactError

ARCHIVE = Action(action="archive_report", target="mode.report.r1", name="Report r1", evidence="2 runs",
                 mode="dry_run", result="planned", run_id="20261101T000000Z", rules=("low_usage",))
DELETE = Action(action="delete_model", target="model.p.old", name="old", evidence="no consumer", mode="dry_run",
                result="planned", run_id="20261101T000000Z", path="models/old.sql", digest="sha256:aa")


def done(target: str = "mode.report.r1") -> ActionResult:
    return ActionResult(target=target, action="archive", result="done", detail="archived")


def test_key_is_kind_target_and_change_digest_and_stable():
    key = action_key(ARCHIVE)
    assert key.startswith("archive_report:mode.report.r1:") and len(key.rsplit(":", 1)[1]) == 16
    assert action_key(replace(ARCHIVE, run_id="other", evidence="other", mode="apply", result="started")) == key
    assert action_key(replace(DELETE, digest="sha256:bb")) != action_key(DELETE)


def test_started_then_finished_is_done_for_a_new_reader(tmp_path):
    journal = Journal.for_run(tmp_path)
    key = journal.started(ARCHIVE)
    assert journal.interrupted(key) and journal.done(key) is None
    journal.finished(ARCHIVE, done())
    again = Journal(journal_path(tmp_path))
    assert again.done(key)["result"] == "done" and not again.interrupted(key)
    events = [(r["event"], r["result"], r["mode"]) for r in read_journal(journal_path(tmp_path))]
    assert events == [("started", "started", "apply"), ("finished", "done", "apply")]


def test_started_without_finished_is_interrupted_after_reload(tmp_path):
    Journal.for_run(tmp_path).started(ARCHIVE)
    again = Journal.for_run(tmp_path)
    assert again.interrupted(action_key(ARCHIVE)) and again.done(action_key(ARCHIVE)) is None


def test_failed_is_not_done(tmp_path):
    journal = Journal.for_run(tmp_path)
    journal.started(ARCHIVE)
    journal.finished(ARCHIVE, replace(done(), result="failed", detail="503"))
    assert journal.done(action_key(ARCHIVE)) is None and not journal.interrupted(action_key(ARCHIVE))


def test_lines_carry_the_record_event_key_and_time(tmp_path):
    journal = Journal(tmp_path / "a.jsonl", now=lambda: datetime(2026, 11, 1, tzinfo=timezone.utc))
    journal.started(ARCHIVE)
    (row,) = read_journal(tmp_path / "a.jsonl")
    assert row["at"] == "2026-11-01T00:00:00Z" and row["key"] == action_key(ARCHIVE)
    assert {k: row[k] for k in ("action", "target", "evidence", "rules")} == {
        "action": "archive_report", "target": "mode.report.r1", "evidence": "2 runs", "rules": ["low_usage"]}


def test_a_torn_last_line_is_ignored_and_cut_before_the_next_append(tmp_path, caplog):
    path = tmp_path / "actions.jsonl"
    Journal(path).started(ARCHIVE)
    with open(path, "ab") as handle:
        handle.write(b'{"action": "archive_report", "torn-3f9')  # the crash mid-write
    journal = Journal(path)
    assert journal.interrupted(action_key(ARCHIVE))
    assert "torn" in caplog.text
    journal.finished(ARCHIVE, done())
    text = path.read_text()
    assert "torn-3f9" not in text and all(json.loads(line) for line in text.splitlines())
    assert Journal(path).done(action_key(ARCHIVE))


def test_a_whole_last_line_without_newline_is_kept(tmp_path):
    path = tmp_path / "actions.jsonl"
    path.write_text(json.dumps({"action": "archive_report", "target": "x"}))
    Journal(path).started(ARCHIVE)
    assert [r["target"] for r in read_journal(path)] == ["x", "mode.report.r1"]


@pytest.mark.parametrize("bad, message", [(b"not json\n", "line 2 is not valid JSON"),
                                          (b"[1, 2]\n", "line 2: expected a JSON object")])
def test_a_damaged_line_elsewhere_names_the_file_and_line(tmp_path, bad, message):
    path = tmp_path / "actions.jsonl"
    path.write_bytes(b'{"action": "archive_report"}\n' + bad + b'{"action": "delete_model"}\n')
    with pytest.raises(ArtifactError, match=rf"{path}: {message}"):
        Journal(path)


def test_dry_run_plan_lines_are_read_but_carry_no_key(tmp_path):
    path = tmp_path / "actions.jsonl"
    path.write_text(json.dumps(ARCHIVE.to_dict()) + "\n")
    journal = Journal(path)
    assert journal.done(action_key(ARCHIVE)) is None and not journal.interrupted(action_key(ARCHIVE))
    journal.record([ARCHIVE, replace(ARCHIVE, target="mode.report.r2", result="skipped", reason="cap_reached")])
    assert [r.get("event") for r in journal.entries()] == [None, "planned", "checked"]


def test_concurrent_appends_keep_every_line_whole(tmp_path):
    path = tmp_path / "actions.jsonl"

    def write(n: int) -> None:
        journal = Journal(path)
        for i in range(50):
            journal.started(replace(ARCHIVE, target=f"mode.report.{n}-{i}", evidence="x" * 5000))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = read_journal(path)
    assert len(rows) == 200 and len({r["target"] for r in rows}) == 200
