"""Mode, GitHub and Slack credentials as Dagster resources, read with ``EnvVar``.

A credential is never a notebook parameter: papermill writes every parameter into the
executed notebook and so into the HTML. Instead, while a stage's notebook runs,
``credentials_in_env`` puts each resource's value into the variable the params name
for it (``bi.token_env``, ``github.token_env``, ``slack.webhook_env`` ...), where the
kernel, started from this process, finds it as it does under ``run_all.py``; the
variables are restored afterwards.

Each field is optional: a demo run has no Mode, GitHub or Slack. ``from_environment``
binds a field to ``EnvVar(NAME)`` only when ``NAME`` is set where the definitions load,
so Dagster shows the variable's name (never its value) and a missing one is simply
absent instead of failing every run at start.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Optional

import dagster as dg

from lineage_utils.params import Params

__all__ = ["GitHubCredentials", "ModeCredentials", "SlackCredentials", "credentials_in_env", "default_resources"]


class ModeCredentials(dg.ConfigurableResource):
    """The Mode API token and secret (for ``bi.source: mode_api``)."""

    token: Optional[str] = None
    secret: Optional[str] = None

    def secrets(self) -> dict[str, Optional[str]]:
        return {"bi.token_env": self.token, "bi.secret_env": self.secret}


class GitHubCredentials(dg.ConfigurableResource):
    """A GitHub token (``cleanup.apply`` pull requests; merged cleanups for the trend charts)."""

    token: Optional[str] = None

    def secrets(self) -> dict[str, Optional[str]]:
        return {"github.token_env": self.token}


class SlackCredentials(dg.ConfigurableResource):
    """The Slack incoming-webhook URL and an optional bot token (chart upload)."""

    webhook_url: Optional[str] = None
    bot_token: Optional[str] = None

    def secrets(self) -> dict[str, Optional[str]]:
        return {"slack.webhook_env": self.webhook_url, "slack.token_env": self.bot_token}


def default_resources(environ: Mapping[str, str] | None = None) -> dict[str, dg.ConfigurableResource]:
    """The three resources, each field bound to its usual variable when that variable is set."""
    names = {"mode": (ModeCredentials, {"token": "MODE_API_TOKEN", "secret": "MODE_API_SECRET"}),
             "github": (GitHubCredentials, {"token": "GITHUB_TOKEN"}),
             "slack": (SlackCredentials, {"webhook_url": "SLACK_WEBHOOK_URL", "bot_token": "SLACK_BOT_TOKEN"})}
    env = os.environ if environ is None else environ
    return {key: cls(**{f: dg.EnvVar(n) for f, n in fields.items() if env.get(n)}) for key, (cls, fields) in names.items()}


@contextmanager
def credentials_in_env(params: Params, *resources: Any) -> Iterator[list[str]]:
    """Each resource value set into the variable its params key names, for the duration; yields the names."""
    wanted: dict[str, str] = {}
    for resource in resources:
        for key, value in resource.secrets().items():
            name = params[key]
            if value and name:
                wanted[str(name)] = str(value)
    previous = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield sorted(wanted)
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
