"""The exception hierarchy: one root, a few kinds, messages that name the culprit."""

from __future__ import annotations


class MetapipelineError(Exception):
    """Root of every error this package raises on purpose."""


class ParamsError(MetapipelineError):
    """A params file or an override is wrong; the message names the key."""


class ArtifactError(MetapipelineError):
    """A dbt artifact, BI snapshot or run-folder file cannot be read; names the file."""


class BIApiError(MetapipelineError):
    """The BI tool's API failed; names the endpoint and the report or query."""


class UnsafeActionError(MetapipelineError):
    """An action was refused because a safety invariant would be broken."""


class ChainError(MetapipelineError):
    """A notebook of the chain failed; names the notebook and the cell."""
