"""The BI side: the adapter Protocol, snapshot records, the crawl status, and Mode.

``adapter`` is the seam (crawl, archive, unarchive, delete) with its registry;
``snapshot`` reads a workspace's raw shapes into frozen records; ``status`` is the
crawl status record; ``hal`` the HAL helpers; ``mode/`` the Mode client, crawl and
adapter, which registers itself when imported.
"""
