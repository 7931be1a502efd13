"""The exception hierarchy: one root, a few kinds, messages that name the culprit."""

from __future__ import annotations


class MetapipelineError(Exception):
    """Root of every error this package raises on purpose."""


class ParamsError(MetapipelineError):
    """A params file or an override is wrong; the message names the key."""


class ArtifactError(MetapipelineError):
    """A dbt artifact, BI snapshot or run-folder file cannot be read; names the file."""


class BIApiError(MetapipelineError):
    """The BI tool's API failed; names the endpoint and the report or query.

    ``status`` is the HTTP status (None for a connection failure or a timeout),
    ``endpoint`` the path called, ``target`` the report, space or endpoint at fault,
    ``retried`` whether it was given up after retries. Never carries credentials.
    """

    def __init__(self, message: str, *, status: int | None = None, endpoint: str = "", target: str = "",
                 retried: bool = False):
        super().__init__(message)
        self.status = status
        self.endpoint = endpoint
        self.target = target
        self.retried = retried


class UnsafeActionError(MetapipelineError):
    """An action was refused because a safety invariant would be broken."""


class ChainError(MetapipelineError):
    """A notebook of the chain failed; names the notebook and the cell."""


def first_line(text: str | BaseException, limit: int = 200) -> str:
    """The first non-blank line of a message (an exception's text, else its type), cut to ``limit``."""
    if isinstance(text, BaseException):
        text = str(text).strip() or type(text).__name__
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 3] + "..."
    return ""
