"""The crawl status: one frozen record, for a snapshot read and a live crawl alike.

``crawl_status.json`` in the run folder is ``CrawlStatus.to_dict()``; later stages read
it back with ``CrawlStatus.from_dict``, which refuses a file of another shape. A crawl
is *complete* only when nothing it should have seen is missing; an incomplete crawl
withholds every deletion proposal downstream.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, Mapping

from lineage_utils.errors import ArtifactError

AnomalyKind = Literal["repeated_page", "total_count_mismatch", "too_many_pages", "listing_changed"]
CrawlSource = Literal["snapshot", "mode_api"]


@dataclass(frozen=True)
class CrawlError:
    """One thing the crawl could not fetch: a report or space token, or an endpoint."""

    target: str
    reason: str
    status: int | None


@dataclass(frozen=True)
class Anomaly:
    """Something a listing did that the API's documentation does not explain.

    ``incomplete`` says whether items may have been missed because of it.
    """

    kind: AnomalyKind
    target: str
    detail: str
    incomplete: bool


@dataclass(frozen=True)
class CrawlStatus:
    """What ``crawl_status.json`` says about a crawl."""

    complete: bool
    source: CrawlSource
    origin: str
    workspace: str
    captured_at: str | None
    full: bool
    errors: tuple[CrawlError, ...] = ()
    missing: tuple[CrawlError, ...] = ()
    warnings: tuple[CrawlError, ...] = ()
    anomalies: tuple[Anomaly, ...] = ()
    requests_made: int = 0
    requests_saved: int = 0
    retries: int = 0
    spaces: int = 0
    reports: int = 0
    reports_fetched: int = 0
    reports_reused: int = 0
    reused_after_error: tuple[str, ...] = field(default=())

    @property
    def problems(self) -> list[tuple[str, str]]:
        """(target, reason) of everything that makes the crawl incomplete."""
        items = [(e.target, e.reason) for e in (*self.errors, *self.missing)]
        return items + [(a.target, f"{a.kind}: {a.detail}") for a in self.anomalies]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "crawl_status") -> CrawlStatus:
        """Read a stored status back; unknown or missing keys name the file and key."""
        known = {f.name for f in fields(cls)}
        extra = sorted(set(data) - known - {"schema_version"})
        if extra:
            raise ArtifactError(f"{origin}: unknown crawl status key '{extra[0]}'")
        try:
            values = {k: v for k, v in data.items() if k in known}
            for key in ("errors", "missing", "warnings"):
                values[key] = tuple(CrawlError(**e) for e in values.get(key) or ())
            values["anomalies"] = tuple(Anomaly(**a) for a in values.get("anomalies") or ())
            values["reused_after_error"] = tuple(values.get("reused_after_error") or ())
            return cls(**values)
        except TypeError as exc:
            raise ArtifactError(f"{origin}: not a crawl status: {exc}") from None
