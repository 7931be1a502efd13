"""Docs blocks used only by deleted models are cut from their .md files, every other byte kept."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from lineage_utils.actions.docs_blocks import cut_docs_blocks, plan_docs_removal, removable_docs
from lineage_utils.actions.project_files import FileChange
from lineage_utils.dbt.docs import DocBlock

TWO = "{% docs gone %}\nGone.\n{% enddocs %}\n\n{% docs kept %}\nKept.\n{% enddocs %}\n"
DELETED = {"model.p.legacy", "model.p.legacy_two"}


def block(name: str, used_by=(), maybe=(), package: str = "p", path: str = "models/docs.md") -> DocBlock:
    return DocBlock(f"doc.{package}.{name}", name, package, path, tuple(used_by), tuple(maybe))


# -- cutting -------------------------------------------------------------------------------
def test_the_block_and_the_blank_line_after_it_go():
    assert cut_docs_blocks(TWO, ["gone"]).after == "{% docs kept %}\nKept.\n{% enddocs %}\n"


def test_the_last_block_goes_and_what_is_before_it_stays_byte_for_byte():
    assert cut_docs_blocks(TWO, ["kept"]).after == "{% docs gone %}\nGone.\n{% enddocs %}\n\n"


def test_whitespace_control_and_tight_spacing_are_found():
    text = "# Notes\n\n{%- docs a -%}\nA\n{%- enddocs -%}\n\n{%docs b%}B{%enddocs%}\n\ntail\n"
    assert cut_docs_blocks(text, ["a"]).after == "# Notes\n\n{%docs b%}B{%enddocs%}\n\ntail\n"
    assert cut_docs_blocks(text, ["b"]).after == "# Notes\n\n{%- docs a -%}\nA\n{%- enddocs -%}\n\ntail\n"


def test_a_block_sharing_its_line_with_other_text_goes_alone():
    text = "intro {% docs a %}A{% enddocs %} outro\n"
    assert cut_docs_blocks(text, ["a"]).after == "intro  outro\n"


def test_only_the_named_block_goes_not_one_whose_name_it_starts():
    text = "{% docs a_b %}\nAB\n{% enddocs %}\n{% docs a %}\nA\n{% enddocs %}\n"
    assert cut_docs_blocks(text, ["a"]).after == "{% docs a_b %}\nAB\n{% enddocs %}\n"


def test_a_file_left_with_only_whitespace_is_deleted():
    edit = cut_docs_blocks("\n  \n" + TWO + "\n\n", ["gone", "kept"])
    assert edit.after is None and edit.removed == ("gone", "kept")


def test_crlf_lines_are_kept():
    text = TWO.replace("\n", "\r\n")
    assert cut_docs_blocks(text, ["gone"]).after == "{% docs kept %}\r\nKept.\r\n{% enddocs %}\r\n"


def test_a_block_not_found_is_reported_and_the_text_kept():
    edit = cut_docs_blocks(TWO, ["missing"])
    assert (edit.after, edit.removed, edit.not_found) == (TWO, (), ("docs block missing (not found)",))
    assert cut_docs_blocks("{% docs open %}\nno end\n", ["open"]).not_found == ("docs block open (has no {% enddocs %})",)


_TEXT = st.text(st.sampled_from("ab \n#{}%"), max_size=40).filter(lambda t: "docs" not in t)


@given(before=_TEXT, body=_TEXT.filter(lambda t: "{%" not in t), after=_TEXT)
def test_every_byte_outside_the_block_its_lines_and_one_blank_line_is_kept(before, body, after):
    text = f"{before}\n{{% docs x %}}{body}{{% enddocs %}}\n{after}"
    first, _, rest = after.partition("\n")
    expected = before + "\n" + (rest if not first.strip(" ") else after)
    assert cut_docs_blocks(text, ["x"]).after == (expected if expected.strip() else None)


# -- which blocks go -----------------------------------------------------------------------
def test_a_block_goes_only_when_every_user_is_a_deleted_model():
    docs = {d.unique_id: d for d in (
        block("only_deleted", ["model.p.legacy", "model.p.legacy_two"]),
        block("shared", ["model.p.legacy", "model.p.orders"]),
        block("possibly_shared", ["model.p.legacy"], ["exposure.p.board"]),
        block("fallback", (), ["model.p.legacy"]),
        block("unused"),
        block("other_package", ["model.p.legacy"], package="pkg"),
        DocBlock("doc.p.opaque", "opaque", "p", "models/docs.md", ("model.p.legacy",), (), opaque=True),
    )}
    found = removable_docs(docs, DELETED)
    assert {m: [d.name for d in ds] for m, ds in found.items()} == {
        "model.p.legacy": ["fallback", "only_deleted"], "model.p.legacy_two": ["only_deleted"]}


# -- planning the file changes -------------------------------------------------------------
def project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8", newline="")
    return tmp_path


def test_plan_edits_one_file_once_and_deletes_an_emptied_one(tmp_path):
    root = project(tmp_path, {"models/docs.md": TWO + "{% docs also %}\nAlso.\n{% enddocs %}\n",
                              "models/legacy.md": "{% docs legacy %}\nL\n{% enddocs %}\n"})
    docs = {d.unique_id: d for d in (block("gone", ["model.p.legacy"]), block("also", ["model.p.legacy_two"]),
                                     block("kept", ["model.p.orders"]),
                                     block("legacy", ["model.p.legacy"], path="models/legacy.md"))}
    plan = plan_docs_removal(root, docs, DELETED)
    assert [(c.path, c.after) for c in plan.changes] == [
        ("models/docs.md", "{% docs kept %}\nKept.\n{% enddocs %}\n"), ("models/legacy.md", None)]
    assert plan.docs == {"model.p.legacy": ("doc.p.gone", "doc.p.legacy"), "model.p.legacy_two": ("doc.p.also",)}
    assert plan.problems == ()


def test_plan_starts_from_a_file_already_planned(tmp_path):
    root = project(tmp_path, {"models/docs.md": TWO})
    planned = {"models/docs.md": FileChange("models/docs.md", TWO, TWO + "extra\n")}
    plan = plan_docs_removal(root, {"doc.p.gone": block("gone", ["model.p.legacy"])}, DELETED, planned)
    assert plan.changes == (FileChange("models/docs.md", TWO, "{% docs kept %}\nKept.\n{% enddocs %}\nextra\n"),)


def test_plan_refuses_a_path_out_of_the_project_and_never_reads_it(tmp_path):
    outside = tmp_path / "outside.md"
    outside.write_text("{% docs gone %}x{% enddocs %}\n", encoding="utf-8")
    root = project(tmp_path / "project", {"dbt_project.yml": "name: p\n"})
    (root / "models").mkdir()
    (root / "models" / "link.md").symlink_to(outside)
    docs = {d.unique_id: d for d in (block("gone", ["model.p.legacy"], path="../outside.md"),
                                     block("linked", ["model.p.legacy"], path="models/link.md"))}
    plan = plan_docs_removal(root, docs, DELETED)
    assert plan.changes == () and plan.docs == {}
    assert [p.split(":")[0] for p in plan.problems] == ["doc.p.gone", "doc.p.linked"]
    assert "climbs out" in plan.problems[0] and "symlink" in plan.problems[1]


def test_plan_reports_a_block_missing_from_its_file(tmp_path):
    root = project(tmp_path, {"models/docs.md": TWO})
    plan = plan_docs_removal(root, {"doc.p.nope": block("nope", ["model.p.legacy"])}, DELETED)
    assert plan.changes == () and plan.problems == ("models/docs.md: docs block nope (not found)",)
