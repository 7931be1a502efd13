"""metapipeline's helper package: every piece of logic the notebooks call."""

from lineage_utils import query_refs, stages, views
from lineage_utils.stages import cleanup, crawl, merge, open_run, rank

__all__ = ["query_refs", "stages", "views", "cleanup", "crawl", "merge", "open_run", "rank"]
__version__ = "0.1.0"
