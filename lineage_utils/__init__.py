"""metapipeline's helper package: every piece of logic the notebooks call."""

from lineage_utils import stages
from lineage_utils.lineage import query_refs
from lineage_utils.publish import views
from lineage_utils.stages import cleanup, crawl, merge, open_run, rank

__all__ = ["query_refs", "stages", "views", "cleanup", "crawl", "merge", "open_run", "rank"]
__version__ = "0.1.0"
