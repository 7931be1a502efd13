"""How each orphan model goes (``cleanup.strategy``): deleted, deprecated first, or kept for now.

dbt's ``deprecation_date`` is the contract with a model's readers: until it passes, the
model stays. So, for each orphan, in this order:

1. a ``deprecation_date`` still ahead: **keep** (never deleted before it; deprecating
   again would only move the date);
2. a ``deprecation_date`` today or past: **delete** (``auto``, ``delete``); the
   ``deprecate`` strategy never deletes, so it **keeps** it;
3. no deprecation date, and ``deprecate``: **deprecate**;
4. an enforced contract: **deprecate**, even under ``delete`` (dbt refuses deleting a
   contracted model before its deprecation date);
5. ``delete``: **delete**;
6. ``auto``: **deprecate** a model whose access was set to ``protected`` or ``public``
   explicitly (dbt's default is ``protected``; ``access_explicit`` in ``dbt_nodes`` tells
   them apart), **delete** the rest.

A deprecation sets ``today + cleanup.deprecation_days``; a later run, once that date has
passed, deletes the model by rule 2. A deprecation date is compared as a UTC calendar
day. Pure: orphans and the ``dbt_nodes`` frame in, decisions out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Literal, Mapping, get_args

import pandas as pd

from lineage_utils.errors import ParamsError
from lineage_utils.lineage.orphans import Orphan
from lineage_utils.records import row_dicts

Strategy = Literal["auto", "deprecate", "delete"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)
"""The values of ``cleanup.strategy``."""
RemovalHow = Literal["delete", "deprecate", "keep"]
_FACTS = ("access", "access_explicit", "contract_enforced", "deprecation_date")
"""The ``dbt_nodes`` columns the rules read (a frame without one: absent, False, None)."""


@dataclass(frozen=True)
class RemovalDecision:
    """What becomes of one orphan model, and why in one sentence with the figures.

    ``deprecation_date`` (``YYYY-MM-DD``) is the date a deprecation sets, or the model's own
    date when it is kept for it or deleted past it; None for a model that has none.
    """

    unique_id: str
    name: str
    how: RemovalHow
    reason: str
    deprecation_date: str | None


def deprecation_day(value: Any) -> date | None:
    """The UTC calendar day of a ``deprecation_date`` (``2030-01-01T00:00:00+00:00``, ``2030-01-01``), or None.

    Raises ValueError for text that is not an ISO date or date-time.
    """
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value
    else:
        moment = datetime.fromisoformat(str(value).strip())
    return moment.astimezone(timezone.utc).date() if moment.tzinfo else moment.date()


def _facts(nodes: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Model id -> the facts the rules read."""
    if "unique_id" not in nodes.columns:
        return {}
    columns = ["unique_id", *(c for c in _FACTS if c in nodes.columns)]
    return {row["unique_id"]: row for row in row_dicts(nodes[columns])}


def _explicit_access(facts: Mapping[str, Any]) -> str | None:
    """``protected`` or ``public`` when set explicitly, else None."""
    access = facts.get("access")
    return access if facts.get("access_explicit") is True and access in ("protected", "public") else None


def _decide(facts: Mapping[str, Any], strategy: str, today: date, new_date: str) -> tuple[str, str, str | None]:
    """(how, reason, deprecation_date) for one orphan: the rules of the module, in order."""
    raw = facts.get("deprecation_date")
    try:
        day = deprecation_day(raw)
    except ValueError:
        return "keep", f"deprecation_date {raw!r} is not a date: kept until it is fixed", None
    later = f"deprecated until {new_date}, deleted by a later run"
    if day is not None and day > today:
        return "keep", f"deprecated until {day}: deleted by a run on or after that date", day.isoformat()
    if day is not None and strategy == "deprecate":
        return ("keep", f"deprecation_date {day} has passed, but cleanup.strategy deprecate never deletes: "
                        "deleted under auto or delete", day.isoformat())
    if day is not None:
        return "delete", f"deprecation_date {day} has passed: deleted", day.isoformat()
    if strategy == "deprecate":
        return "deprecate", f"cleanup.strategy deprecate: {later}", new_date
    if facts.get("contract_enforced") is True:
        return ("deprecate", f"contract enforced (dbt refuses to delete a contracted model before its "
                             f"deprecation_date): {later}", new_date)
    if strategy == "delete":
        return "delete", "cleanup.strategy delete: deleted", None
    access = _explicit_access(facts)
    if access:
        return "deprecate", f"access: {access} (set explicitly): {later}", new_date
    shown = facts.get("access") if facts.get("access_explicit") is True else None
    return "delete", f"access: {shown or 'not set (dbt default)'}, no contract: deleted", None


def decide_removal(orphans: Iterable[Orphan], nodes: pd.DataFrame, strategy: str, today: date,
                   deprecation_days: int) -> list[RemovalDecision]:
    """One decision per orphan (in id order): delete, deprecate until ``today + deprecation_days``, or keep.

    ``nodes`` is the ``dbt_nodes`` frame (its ``access``, ``access_explicit``,
    ``contract_enforced`` and ``deprecation_date`` columns); ``strategy`` one of
    ``STRATEGIES``. A wrong strategy or a day count below 1 raises ParamsError.
    """
    if strategy not in STRATEGIES:
        raise ParamsError(f"params key 'cleanup.strategy': {strategy!r} is not one of {', '.join(STRATEGIES)}")
    if isinstance(deprecation_days, bool) or not isinstance(deprecation_days, int) or deprecation_days < 1:
        raise ParamsError(f"params key 'cleanup.deprecation_days': {deprecation_days!r} must be a whole number >= 1")
    facts = _facts(nodes)
    new_date = (today + timedelta(days=deprecation_days)).isoformat()
    decisions = []
    for orphan in sorted({o.unique_id: o for o in orphans}.values(), key=lambda o: o.unique_id):
        how, reason, day = _decide(facts.get(orphan.unique_id, {}), strategy, today, new_date)
        decisions.append(RemovalDecision(orphan.unique_id, orphan.name, how, reason, day))  # type: ignore[arg-type]
    return decisions
