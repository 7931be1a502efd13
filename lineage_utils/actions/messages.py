"""The cleanup commit's text and dbt's failure message, made safe for git and for the notebook (pure).

Model names come from the manifest, so from outside: each is one line of plain text in
the commit message (``sanitise_name``), and the list is capped. dbt's output is cut to
its error lines, timestamps and colours stripped, credentials masked (``dbt_message``).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable

from lineage_utils.actions.gitcmd import mask_credentials

__all__ = ["BRANCH_PREFIX", "commit_message", "dbt_message", "sanitise_name"]

BRANCH_PREFIX = "metapipeline/cleanup-"
NAME_LIMIT = 200
"""Characters of one model name kept in the commit message."""
LISTED_LIMIT = 500
"""Models listed by name in the commit message; the rest are counted."""
DBT_MESSAGE_LINES = 15
_TIMESTAMP = re.compile(r"^\d\d:\d\d:\d\d(?:\.\d+)?\s+")
_AFTER_ERROR = re.compile(r"\[(WARNING|INFO|DEBUG)\]|Summary of encountered|Done\.|Finished ")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def sanitise_name(name: object, limit: int = NAME_LIMIT) -> str:
    """One line of plain text: control and line-separator characters dropped, whitespace collapsed, cut."""
    text = "".join(ch if unicodedata.category(ch)[0] != "C" and unicodedata.category(ch) not in ("Zl", "Zp")
                   else " " for ch in str(name))
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text or "(unnamed)"


def _listed(names: list[str]) -> list[str]:
    listed = [f"- {n}" for n in names[:LISTED_LIMIT]]
    if len(names) > LISTED_LIMIT:
        listed.append(f"- ... and {len(names) - LISTED_LIMIT} more")
    return listed


def commit_message(run_id: str, models: Iterable[str], deprecated: Iterable[str] = ()) -> str:
    """The cleanup commit's message: a subject, why, and one ``- name`` line per model (sanitised).

    ``models`` are removed; ``deprecated`` get a ``deprecation_date`` (``cleanup.strategy``).
    """
    names = sorted({sanitise_name(m) for m in models})
    later = sorted({sanitise_name(m) for m in deprecated})
    what = [f"remove {len(names)}"] if names else []
    what += [f"deprecate {len(later)}"] if later else []
    total = len(names) + len(later)
    subject = f"metapipeline: {' and '.join(what) or 'remove 0'} orphan dbt model{'' if total == 1 else 's'}"
    text = (f"{subject}\n\n"  # short: never folded by format-patch
            f"Made by metapipeline run {run_id} on the branch {BRANCH_PREFIX}{run_id}.\n"
            "metapipeline found no path from these models to anything people look at (BI reports,\n"
            "exposures, the semantic layer, protected nodes).")
    if names:
        text += (" These go with their YAML entries and\nthe tests that touch them:\n\n"
                 + "\n".join(_listed(names)) + "\n")
    if later:
        text += ("\n" if names else " ") + ("These get a deprecation_date and are removed by a later run:\n\n"
                                           + "\n".join(_listed(later)) + "\n")
    return text if text.endswith("\n") else text + "\n"


def dbt_message(output: str, limit: int = DBT_MESSAGE_LINES) -> str:
    """dbt's relevant lines: from its first error line on (timestamps and colours stripped)."""
    lines = [_TIMESTAMP.sub("", _ANSI.sub("", line)).rstrip() for line in output.splitlines()]
    lines = [line[:300] for line in lines if line.strip()]
    start = next((i for i, line in enumerate(lines) if re.search(r"error", line, re.I)), None)
    if start is None:
        return mask_credentials("\n".join(lines[-limit:])) or "dbt parse failed without output"
    kept = []
    for line in lines[start:start + limit]:
        if kept and _AFTER_ERROR.match(line):
            break  # dbt's deprecation summary and other log lines after the error
        kept.append(line)
    return mask_credentials("\n".join(kept)) or "dbt parse failed without output"
