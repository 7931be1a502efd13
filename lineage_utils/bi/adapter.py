"""The seam between the chain and a BI tool: a small Protocol and a registry.

A BI adapter crawls a workspace into a snapshot bundle and acts on one report at a
time. Mode is registered here the same way any other tool would be; there is no
plugin framework until a second tool exists (STYLE.md principle 15). An adapter's
package calls :func:`register` when imported; this module imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal, Protocol

from lineage_utils.bi.status import CrawlStatus
from lineage_utils.errors import ParamsError

if TYPE_CHECKING:
    from lineage_utils.params import Params

ActionKind = Literal["archive", "unarchive", "delete"]
ActionOutcome = Literal["done", "noop", "failed"]


@dataclass(frozen=True)
class ActionResult:
    """What one action did: ``noop`` when the report was already in the wanted state."""

    target: str
    action: ActionKind
    result: ActionOutcome
    detail: str


class BIAdapter(Protocol):
    def crawl(self, full: bool = False, progress: bool = False) -> tuple[dict[str, Any], CrawlStatus]:
        """The workspace as a raw snapshot bundle, and the crawl status (``crawl_status.json``)."""
        ...

    def archive(self, report: str) -> ActionResult: ...

    def unarchive(self, report: str) -> ActionResult: ...

    def delete(self, report: str) -> ActionResult: ...


ADAPTERS: dict[str, Callable[[Params], BIAdapter]] = {}
"""``bi.source`` -> a factory taking the run's params. Adapters register themselves
when their package is imported (``lineage_utils.bi.mode`` registers ``mode_api``)."""


def register(source: str, factory: Callable[[Params], BIAdapter]) -> None:
    ADAPTERS[source] = factory


def adapter_for(params: Params) -> BIAdapter:
    source = params["bi.source"]
    if source not in ADAPTERS:
        raise ParamsError(f"params key 'bi.source': no BI adapter for {source!r} "
                          f"(known: {', '.join(sorted(ADAPTERS)) or 'none registered'})")
    return ADAPTERS[source](params)
