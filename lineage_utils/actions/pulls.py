"""One pull request per kind and set: find ours, update the same set, supersede another.

Every pull request metapipeline opens carries, as the last line of its body, an HTML
comment GitHub does not render: ``<!-- metapipeline:<kind> set=<digest> run=<run_id> -->``.
``<kind>`` is ``deletion_pr`` or ``exposures_pr``; ``<digest>`` names what the PR
changes (the models and how each goes; the generated file's content). A PR counts as
ours only when that marker is there *and* its head is a branch of ours
(``metapipeline/cleanup-`` or ``metapipeline/exposures-``) in the repository itself, so a
PR someone else opens with a copied marker is never edited.

``publish_pull``:

* an open PR of ours for the same kind and set: its title and body are refreshed
  (``PATCH``), nothing new is pushed or opened (``updated``);
* else a new PR from ``head`` (``POST``; GitHub's 422 "already exists" gives the open
  one, e.g. after a crash between the call and the journal line); its body names each
  open PR of ours for the same kind and another set ("Supersedes #n"), and each of
  those gets a comment pointing to the new one. They are not closed: a reviewer may
  still want one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Literal, Mapping

from lineage_utils.actions.github import GitHubApiError, GitHubClient, PullRequest
from lineage_utils.params import Params

__all__ = ["HEAD_PREFIXES", "MergedPull", "PrKind", "PullOutcome", "body_with", "find_ours", "marker",
           "merged_cleanups", "publish_pull", "read_merged_cleanups", "run_of", "same_set", "set_digest", "update_pull"]

logger = logging.getLogger(__name__)

PrKind = Literal["deletion_pr", "exposures_pr"]
HEAD_PREFIXES = {"deletion_pr": "metapipeline/cleanup-", "exposures_pr": "metapipeline/exposures-"}
_MARKER = re.compile(r"<!-- metapipeline:(deletion_pr|exposures_pr) set=([0-9a-f]{16,64}) "
                     r"run=([A-Za-z0-9._-]{1,100}) -->\s*\Z")


def set_digest(items: Any) -> str:
    """A stable 24-hex digest of a JSON-able description of what a PR changes."""
    text = json.dumps(items, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def marker(kind: PrKind, digest: str, run_id: str) -> str:
    return f"<!-- metapipeline:{kind} set={digest} run={run_id} -->"


@dataclass(frozen=True)
class Ours:
    pull: PullRequest
    digest: str
    run_id: str


@dataclass(frozen=True)
class PullOutcome:
    pull: PullRequest
    opened: bool
    """True: this call opened it; False: an open one of ours (the same set) was updated."""
    superseded: tuple[int, ...] = ()


def find_ours(pulls: Iterable[PullRequest], kind: PrKind, owner: str) -> list[Ours]:
    """The open PRs of ours of ``kind``: our marker, our branch prefix, a head in ``owner``'s repository."""
    out = []
    for pull in pulls:
        found = _MARKER.search(pull.body or "")
        if not found or found.group(1) != kind or not pull.head_ref.startswith(HEAD_PREFIXES[kind]):
            continue
        if pull.head_label and pull.head_label.split(":", 1)[0] != owner:
            continue  # a fork's branch of the same name
        out.append(Ours(pull, found.group(2), found.group(3)))
    return out


def run_of(pull: PullRequest) -> str:
    """The run id in a PR's marker (the run that made its branch); "" when it has none."""
    found = _MARKER.search(pull.body or "")
    return found.group(3) if found else ""


def _supersede_line(numbers: Iterable[int]) -> str:
    numbers = sorted(set(numbers))
    return ("Supersedes " + ", ".join(f"#{n}" for n in numbers) + " (another set from an earlier run; "
            "close it when this one is merged).") if numbers else ""


def body_with(body: str, kind: PrKind, digest: str, run_id: str, supersedes: Iterable[int] = ()) -> str:
    line = _supersede_line(supersedes)
    return body.rstrip("\n") + ("\n\n" + line if line else "") + "\n\n" + marker(kind, digest, run_id) + "\n"


def same_set(client: GitHubClient, kind: PrKind, digest: str) -> tuple[PullRequest | None, list[PullRequest]]:
    """(the open PR of ours for this set, the open PRs of ours for other sets)."""
    ours = find_ours(client.open_pulls(), kind, client.owner)
    same = next((o.pull for o in ours if o.digest == digest), None)
    return same, [o.pull for o in ours if o.digest != digest]


def update_pull(client: GitHubClient, pull: PullRequest, title: str, body: str) -> PullOutcome:
    """Refresh an open PR of ours for the same set (title and body); nothing else changes."""
    if pull.title == title and pull.body == body:
        return PullOutcome(pull=pull, opened=False)
    return PullOutcome(pull=client.update_pull(pull.number, title=title, body=body), opened=False)


def publish_pull(client: GitHubClient, kind: PrKind, digest: str, run_id: str, head: str, base: str, title: str,
                 body: str, others: Iterable[PullRequest] = ()) -> PullOutcome:
    """Open the PR for this set from ``head`` into ``base``, naming and telling the ones it supersedes."""
    others = list(others)
    full = body_with(body, kind, digest, run_id, (p.number for p in others))
    pull = client.open_pull(title=title, head=head, base=base, body=full)
    if pull.body != full and pull.head_ref == head:  # it was open already (422): make its body ours
        pull = client.update_pull(pull.number, title=title, body=full)
    told = []
    for old in others:
        try:
            client.comment(old.number, f"Superseded by #{pull.number} (metapipeline run {run_id}): another set of "
                                       "changes. Close this one when that one is merged.")
            told.append(old.number)
        except GitHubApiError as exc:  # the new PR stands; the note on the old one is a courtesy
            logger.warning("could not comment on #%d that #%d supersedes it: %s", old.number, pull.number, exc)
    return PullOutcome(pull=pull, opened=True, superseded=tuple(told))


@dataclass(frozen=True)
class MergedPull:
    """A model-removal pull request of ours that was merged (``merged_at``: naive UTC)."""

    number: int
    title: str
    merged_at: datetime
    url: str


def _moment(item: Mapping[str, Any], key: str, repo: str) -> datetime | None:
    """An ISO 8601 time of a listed pull request as naive UTC; a value that is not one is refused."""
    value = item.get(key)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise GitHubApiError(f"GitHub API (repo {repo}): pull request #{item.get('number')} has {key} "
                             f"{str(value)[:40]!r}, not an ISO 8601 time", repo=repo) from None
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def merged_cleanups(client: GitHubClient, since: datetime) -> list[MergedPull]:
    """Our model-removal PRs merged at or after ``since`` (naive UTC), newest first.

    Closed pull requests are read most recently updated first, and reading stops at the
    first one last updated before ``since`` (a merge is an update, so no later page can
    hold a newer merge). A PR counts as ours as ``find_ours`` decides: a copied marker on
    someone else's branch is not a cleanup.
    """
    found = []
    for item in client.paginate(f"/repos/{client.repo}/pulls", {"state": "closed", "sort": "updated",
                                                                 "direction": "desc"}):
        if not isinstance(item, Mapping):
            raise GitHubApiError(f"GitHub API (repo {client.repo}): a listed pull request is a JSON "
                                 f"{type(item).__name__}, not an object", repo=client.repo)
        updated = _moment(item, "updated_at", client.repo)
        if updated is not None and updated < since:
            break
        merged = _moment(item, "merged_at", client.repo)
        pull = PullRequest.from_api(item)
        if merged is not None and merged >= since and find_ours([pull], "deletion_pr", client.owner):
            found.append(MergedPull(pull.number, pull.title, merged, pull.html_url))
    return found


def read_merged_cleanups(params: Params, since: datetime) -> tuple[list[MergedPull], str | None]:
    """``merged_cleanups`` on ``github.repo`` (none when it is not set), or none and why they could not be read.

    Only the trend charts use them, so a failure is a note for the notebook, never the
    end of the run, and never "no cleanup was merged".
    """
    if not params["github.repo"]:
        return [], None
    try:
        with GitHubClient.from_params(params) as client:
            return merged_cleanups(client, since), None
    except GitHubApiError as exc:
        return [], f"merged cleanup pull requests were not read, so the charts may lack some: {exc}"
