"""The run's Slack message as Block Kit (pure): headline counts and deltas, candidates, news, a link.

``build_message`` turns a :class:`SlackSummary` into the JSON an incoming webhook takes:
``blocks`` (a header, the counts as section fields with their change since the last run,
the top optimisation candidates, new orphans, new stale reports, the link to the run's
``index.html``) and a plain ``text`` fallback for notifications that names no outside text.

Every piece of outside text (model, report and count names) goes through
``mrkdwn_escape``: one line, invisible characters marked (``<U+202E>``), cut to a
length, ``&``, ``<`` and ``>`` escaped as Slack asks (so ``<!channel>`` and
``<http://x|y>`` stay text), inside an inline code span, where Slack applies no bold,
italic, strike or link; a backtick, which would close the span, becomes ``ˋ``. Sizes
stay inside Block Kit's limits by construction: a section's text is at most 3,000
characters (long lists end in "... and N more"), a header 150, a message 50 blocks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping, Sequence
from urllib.parse import quote, urlsplit

from lineage_utils.publish.templating import visible

__all__ = ["COUNT_LIMIT", "FIELD_LIMIT", "HEADER_LIMIT", "LIST_LIMIT", "MAX_BLOCKS", "NAME_LIMIT", "SECTION_LIMIT",
           "TOP_N", "CountDelta", "SlackSummary", "build_message", "count_deltas", "mrkdwn_escape", "mrkdwn_text"]

MAX_BLOCKS = 50
"""Blocks in one message (Block Kit)."""
SECTION_LIMIT = 3000
"""Characters of a section's text (Block Kit); also the cap on the ``text`` fallback here."""
FIELD_LIMIT = 2000
"""Characters of one section field (Block Kit); at most 10 fields a section."""
HEADER_LIMIT = 150
"""Characters of a header block's plain text (Block Kit)."""
NAME_LIMIT = 80
"""Characters of one outside name kept (before escaping)."""
LIST_LIMIT = 10
"""Names listed per section before "... and N more"."""
TOP_N = 5
"""Optimisation candidates shown."""
COUNT_LIMIT = 30
"""Headline counts shown (three sections of ten fields)."""
_MORE_ROOM = 40  # room kept in a section for its "... and N more" line

Number = int | float
_BREAKS = re.compile(r"[\r\n\t\u2028\u2029\x0b\x0c\x85]+")
_FORMATTING = re.compile(r"[*_~`]+")


@dataclass(frozen=True)
class SlackSummary:
    """What the message says about one run; the lists arrive ranked (first = most important).

    ``counts`` and ``previous`` map a count's name (``models``, ``orphans``, ...) to its
    value, in the order to show them; ``previous`` is None on the first run.
    ``top_candidates`` holds ``(model name, priority, runtime in seconds)``.
    """

    run_id: str
    link: str
    counts: Mapping[str, Number | None]
    previous: Mapping[str, Number | None] | None = None
    top_candidates: Sequence[tuple[str, Number | None, Number | None]] = ()
    new_orphans: Sequence[str] = ()
    new_stale_reports: Sequence[str] = ()

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise once, so a caller's later edits cannot leak in
        set_(self, "counts", MappingProxyType(dict(self.counts)))
        if self.previous is not None:
            set_(self, "previous", MappingProxyType(dict(self.previous)))
        set_(self, "top_candidates", tuple(tuple(c) for c in self.top_candidates))
        set_(self, "new_orphans", tuple(self.new_orphans))
        set_(self, "new_stale_reports", tuple(self.new_stale_reports))


@dataclass(frozen=True)
class CountDelta:
    """One headline count and its change since the previous run.

    ``delta`` is None when either value is missing or not a number; ``is_new`` when the
    previous run had no such count (``previous`` None: the first run, nothing is new).
    """

    name: str
    value: Number | None
    delta: Number | None = None
    is_new: bool = False


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value  # not NaN


def count_deltas(counts: Mapping[str, Any], previous: Mapping[str, Any] | None) -> tuple[CountDelta, ...]:
    """Each count, in ``counts`` order, with its change since ``previous``."""
    out = []
    for name, value in counts.items():
        if previous is None or name not in previous:
            out.append(CountDelta(name, value, None, is_new=previous is not None))
            continue
        before = previous[name]
        delta = value - before if _number(value) and _number(before) else None
        out.append(CountDelta(name, value, round(delta, 6) if isinstance(delta, float) else delta))
    return tuple(out)


def _one_line(value: object, limit: int) -> str:
    text = "" if value is None else str(value)
    text = " ".join(_BREAKS.sub(" ", text).split())
    text = visible(text)  # NUL, bidi overrides, zero-width characters: shown as <U+XXXX>
    return text if len(text) <= limit else text[: max(0, limit - 3)] + "..."


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn_text(value: object, limit: int = NAME_LIMIT) -> str:
    """Outside text as plain mrkdwn words: one line, marked, cut, ``&<>`` escaped, ``*_~``` ` become spaces.

    For labels next to our own formatting (``*label*``); names are shown with
    :func:`mrkdwn_escape`, which keeps every character.
    """
    return _entities(" ".join(_FORMATTING.sub(" ", _one_line(value, limit)).split()))


def mrkdwn_escape(value: object, limit: int = NAME_LIMIT) -> str:
    """Outside text as one inert mrkdwn token: an inline code span, or ``_(unnamed)_`` when blank.

    One line (breaks collapse to spaces), invisible and direction-changing characters
    marked, cut to ``limit`` characters (before escaping, so no entity is cut), ``&``,
    ``<`` and ``>`` escaped as entities (no mention, link or ``<!channel>`` can form),
    backticks replaced by ``ˋ`` (U+02CB) so the span cannot be closed early; inside the
    span ``*``, ``_`` and ``~`` are literal.
    """
    text = _one_line(value, limit)
    if not text:
        return "_(unnamed)_"
    return "`" + _entities(text.replace("`", "\u02cb")) + "`"


def _plain(value: object, limit: int) -> str:
    """Text for a ``plain_text`` object: no markup is parsed there; one line, marked, cut."""
    return _one_line(value, limit) or "-"


def _label(name: str) -> str:
    return mrkdwn_text(name.replace("_", " "), 60) or "count"


def _value(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return mrkdwn_text(value, 40)


def _delta(item: CountDelta) -> str:
    if item.is_new:
        return "new"
    if item.delta is None:
        return ""
    if item.delta == 0:
        return "no change"
    return ("+" if item.delta > 0 else "-") + _value(abs(item.delta))


def _bounded(title: str, lines: Sequence[str], total: int, empty: str) -> str:
    """``title`` and as many ``lines`` as fit in a section (at most ``LIST_LIMIT``), then "... and N more"."""
    if not total:
        return f"{title}: {empty}"
    text, shown = title, 0
    for line in lines[:LIST_LIMIT]:
        if len(text) + 1 + len(line) + _MORE_ROOM > SECTION_LIMIT:
            break
        text, shown = f"{text}\n{line}", shown + 1
    if total > shown:
        text += f"\n... and {total - shown} more"
    return text


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}


def _priority(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.2f}"
    return "unknown" if value is None or isinstance(value, bool) else mrkdwn_text(value, 20)


def _runtime(value: Any) -> str:
    return f"runtime {value:,.1f} s" if _number(value) and math.isfinite(value) else "runtime unknown"


def _web_link(link: str) -> str | None:
    """``link`` as the URL part of ``<url|label>`` when it is an http(s) URL, else None."""
    parts = urlsplit(link.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in link.strip()):
        return None
    return _entities(quote(link.strip(), safe=":/?#[]@!$&'()*+,;=%-._~"))  # `|` and `>` cannot end the URL


def _link_block(link: str) -> dict[str, Any]:
    url = _web_link(link)
    if url is not None:
        return _section(f"<{url}|Open the run report>")
    return _section(f"Run report: {mrkdwn_escape(link, 500)}")


def _count_blocks(deltas: Sequence[CountDelta], first_run: bool) -> list[dict[str, Any]]:
    fields = []
    for item in deltas[:COUNT_LIMIT]:
        change = _delta(item)
        text = f"*{_label(item.name)}*\n{_value(item.value)}" + (f" ({change})" if change else "")
        fields.append({"type": "mrkdwn", "text": text[:FIELD_LIMIT]})
    blocks = [{"type": "section", "fields": fields[i: i + 10]} for i in range(0, len(fields), 10)]
    note = "First run: no previous run to compare with." if first_run else "Changes are since the previous run."
    if len(deltas) > COUNT_LIMIT:
        note += f" {len(deltas) - COUNT_LIMIT} more counts are in the run report."
    return blocks + [{"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}]


def _fallback(summary: SlackSummary, deltas: Sequence[CountDelta]) -> str:
    """The notification text: counts and list sizes only, no outside names."""
    counts = ", ".join(f"{_label(d.name)} {_value(d.value)}" + (f" ({_delta(d)})" if _delta(d) else "")
                       for d in deltas)
    text = (f"metapipeline run {mrkdwn_text(summary.run_id, 100)}: {counts or 'no counts'}; "
            f"{len(summary.new_orphans)} new orphans, {len(summary.new_stale_reports)} new stale reports.")
    url = _web_link(summary.link)
    return (text + (f" <{url}|Run report>" if url else ""))[:SECTION_LIMIT]


def build_message(summary: SlackSummary) -> dict[str, Any]:
    """The Block Kit payload for ``summary``: ``{"text": fallback, "blocks": [...]}``."""
    deltas = count_deltas(summary.counts, summary.previous)
    top = summary.top_candidates[:TOP_N]
    candidate_lines = [f"{i}. {mrkdwn_escape(name)}: priority {_priority(priority)}, {_runtime(runtime)}"
                       for i, (name, priority, runtime, *_) in enumerate(top, 1)]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _plain(f"metapipeline run {summary.run_id}",
                                                                         HEADER_LIMIT), "emoji": False}},
        _link_block(summary.link),
        *(_count_blocks(deltas, summary.previous is None) if deltas else [_section("No headline counts.")]),
        {"type": "divider"},
        _section(_bounded("*Top optimisation candidates*", candidate_lines, len(top), "none")),
        _section(_bounded(f"*New orphans ({len(summary.new_orphans)})*",
                          [f"• {mrkdwn_escape(n)}" for n in summary.new_orphans[:LIST_LIMIT]],
                          len(summary.new_orphans), "none")),
        _section(_bounded(f"*New stale reports ({len(summary.new_stale_reports)})*",
                          [f"• {mrkdwn_escape(n)}" for n in summary.new_stale_reports[:LIST_LIMIT]],
                          len(summary.new_stale_reports), "none")),
    ]
    return {"text": _fallback(summary, deltas), "blocks": blocks[:MAX_BLOCKS]}
