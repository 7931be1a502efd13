"""metapipeline's helper package: every piece of logic the notebooks call.

Sub-packages are the sides of the picture (``dbt``, ``bi``, ``sql``, ``lineage``,
``actions``, ``publish``); ``stages`` runs one notebook's work and ``runner`` the
chain. The names a notebook calls are here: ``open_run`` and one function per stage.
They are imported on first use, so ``python -m lineage_utils.<module>`` and a plain
``import lineage_utils.params`` stay quick and load nothing else.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["query_refs", "stages", "views", "cleanup", "crawl", "explore", "merge", "open_run", "rank"]
__version__ = "0.1.0"

_MODULES = {"stages": "lineage_utils.stages", "query_refs": "lineage_utils.lineage.query_refs",
            "views": "lineage_utils.publish.views"}
_STAGE_FUNCTIONS = frozenset({"cleanup", "crawl", "merge", "open_run", "rank"})


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    elif name == "explore":
        value = importlib.import_module("lineage_utils.publish.explorer_widget").explore
    elif name in _STAGE_FUNCTIONS:
        value = getattr(importlib.import_module("lineage_utils.stages"), name)
    else:
        raise AttributeError(f"module 'lineage_utils' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
