"""Mode Analytics: the REST client, the workspace crawl, and the adapter.

Importing this package registers the Mode adapter for ``bi.source: mode_api``.
"""

from lineage_utils.bi.mode.adapter import ModeAdapter

__all__ = ["ModeAdapter"]
