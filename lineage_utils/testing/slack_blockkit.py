"""Block Kit as Slack documents it, for the Slack stand-in: the shape of a message's ``blocks``.

From Slack's Block Kit reference (blocks, composition objects), for the blocks a
message may carry: ``blocks`` is a list of at most 50 objects, each with a known
``type`` and only its documented fields; an optional ``block_id`` is a string of at
most 255 characters, unique in the message. Checked in depth:

* ``section``: ``text`` (a text object, 1-3000 characters) and/or ``fields`` (1-10
  text objects of at most 2000 characters); ``accessory`` and ``expand`` allowed;
* ``header``: ``text``, a ``plain_text`` object of at most 150 characters;
* ``divider``: nothing else;
* ``context``: ``elements``, 1-10 text objects or ``image`` elements;
* ``image``: ``image_url`` (at most 3000) or ``slack_file``, ``alt_text`` (at most 2000),
  an optional ``plain_text`` ``title``;
* a text object: ``type`` ``plain_text`` (optional boolean ``emoji``) or ``mrkdwn``
  (optional boolean ``verbatim``) and a string ``text``.

Other documented block types (``actions``, ``input``, ``rich_text``, ...) are accepted
on their type alone. Each problem is reported as Slack's ``chat.postMessage`` does:
``"<what> [json-pointer:/blocks/0/text/text]"``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_BLOCKS", "block_errors"]

MAX_BLOCKS = 50
_OTHER_TYPES = frozenset({"actions", "file", "input", "markdown", "rich_text", "table", "video"})
_FIELDS = {
    "section": {"type", "block_id", "text", "fields", "accessory", "expand"},
    "header": {"type", "block_id", "text"},
    "divider": {"type", "block_id"},
    "context": {"type", "block_id", "elements"},
    "image": {"type", "block_id", "image_url", "slack_file", "alt_text", "title"},
}


def _text_object(obj: Any, at: str, limit: int, kinds: tuple[str, ...] = ("plain_text", "mrkdwn")) -> list[str]:
    if not isinstance(obj, dict):
        return [f"must be an object [json-pointer:{at}]"]
    errors = []
    kind = obj.get("type")
    if kind not in kinds:
        errors.append(f"must be one of {', '.join(kinds)} [json-pointer:{at}/type]")
    allowed = {"type", "text", "emoji"} if kind == "plain_text" else {"type", "text", "verbatim"}
    errors += [f"unknown field [json-pointer:{at}/{key}]" for key in sorted(set(obj) - allowed)]
    for flag in ("emoji", "verbatim"):
        if flag in obj and not isinstance(obj[flag], bool):
            errors.append(f"must be a boolean [json-pointer:{at}/{flag}]")
    text = obj.get("text")
    if not isinstance(text, str):
        errors.append(f"must be a string [json-pointer:{at}/text]")
    elif not text:
        errors.append(f"must be more than 0 characters [json-pointer:{at}/text]")
    elif len(text) > limit:
        errors.append(f"must be less than {limit + 1} characters [json-pointer:{at}/text]")
    return errors


def _section(block: dict[str, Any], at: str) -> list[str]:
    if "text" not in block and "fields" not in block:
        return [f"must define either `text` or `fields` [json-pointer:{at}]"]
    errors = _text_object(block["text"], f"{at}/text", 3000) if "text" in block else []
    if "fields" in block:
        fields = block["fields"]
        if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
            errors.append(f"must be a list of 1 to 10 text objects [json-pointer:{at}/fields]")
        else:
            for i, item in enumerate(fields):
                errors += _text_object(item, f"{at}/fields/{i}", 2000)
    return errors


def _context(block: dict[str, Any], at: str) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
        return [f"must be a list of 1 to 10 elements [json-pointer:{at}/elements]"]
    errors = []
    for i, item in enumerate(elements):
        if isinstance(item, dict) and item.get("type") == "image":
            if not isinstance(item.get("alt_text"), str) or not (item.get("image_url") or item.get("slack_file")):
                errors.append(f"an image needs image_url and alt_text [json-pointer:{at}/elements/{i}]")
        else:
            errors += _text_object(item, f"{at}/elements/{i}", 3000)
    return errors


def _image(block: dict[str, Any], at: str) -> list[str]:
    errors = []
    url = block.get("image_url")
    if not (isinstance(url, str) and 0 < len(url) <= 3000) and not isinstance(block.get("slack_file"), dict):
        errors.append(f"must provide image_url or slack_file [json-pointer:{at}]")
    alt = block.get("alt_text")
    if not isinstance(alt, str) or not 0 < len(alt) <= 2000:
        errors.append(f"must be a string of 1 to 2000 characters [json-pointer:{at}/alt_text]")
    if "title" in block:
        errors += _text_object(block["title"], f"{at}/title", 2000, ("plain_text",))
    return errors


_CHECKS = {
    "section": _section,
    "header": lambda block, at: _text_object(block.get("text"), f"{at}/text", 150, ("plain_text",)),
    "divider": lambda block, at: [],
    "context": _context,
    "image": _image,
}


def block_errors(blocks: Any) -> list[str]:
    """Every way ``blocks`` breaks Block Kit's documented shape; empty when it is valid."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errors = [f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"] if len(blocks) > MAX_BLOCKS else []
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        at = f"/blocks/{i}"
        if not isinstance(block, dict):
            errors.append(f"must be an object [json-pointer:{at}]")
            continue
        kind = block.get("type")
        if "block_id" in block:
            block_id = block["block_id"]
            if not isinstance(block_id, str) or not 0 < len(block_id) <= 255:
                errors.append(f"must be a string of 1 to 255 characters [json-pointer:{at}/block_id]")
            elif block_id in seen:
                errors.append(f"duplicate block_id [json-pointer:{at}/block_id]")
            else:
                seen.add(block_id)
        if kind in _OTHER_TYPES:
            continue
        if kind not in _CHECKS:
            errors.append(f"unsupported type: {kind!r} [json-pointer:{at}/type]")
            continue
        errors += [f"unknown field [json-pointer:{at}/{key}]" for key in sorted(set(block) - _FIELDS[kind])]
        errors += _CHECKS[kind](block, at)
    return errors
