"""Stand-ins for the outside services the chain talks to, for tests and live-looking demos."""

from __future__ import annotations

from typing import Any

__all__ = ["ModeStandIn"]


def __getattr__(name: str) -> Any:
    # lazy, so `python -m lineage_utils.testing.mode_standin` does not import the module twice
    if name == "ModeStandIn":
        from lineage_utils.testing.mode_standin import ModeStandIn

        return ModeStandIn
    raise AttributeError(name)
