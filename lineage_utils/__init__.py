"""metapipeline's helper package: every piece of logic the notebooks call.

Sub-packages are the sides of the picture (``dbt``, ``bi``, ``sql``, ``lineage``,
``actions``, ``publish``); ``stages`` runs one notebook's work and ``runner`` the
chain. The names a notebook calls are here: ``open_run`` and one function per stage.
"""

from lineage_utils import stages
from lineage_utils.lineage import query_refs
from lineage_utils.publish import views
from lineage_utils.stages import cleanup, crawl, merge, open_run, rank

__all__ = ["query_refs", "stages", "views", "cleanup", "crawl", "merge", "open_run", "rank"]
__version__ = "0.1.0"
