"""The project's own list of hostile strings, for tests and stand-ins.

Every string a BI tool or a dbt project hands us may be any of these: report and space
names, descriptions, creator names, SQL comments, URLs, manifest paths. The tests feed
them through the whole chain and assert that each lands inert where it is shown or
written: HTML, YAML that dbt renders as Jinja, git refs and messages, Slack mrkdwn.
"""

from __future__ import annotations

# Markup that runs script or injects elements when written raw into HTML.
HTML: tuple[str, ...] = (
    'https://x.example/"><img src=x onerror=alert(1)>',
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "' onmouseover='alert(1)' x='",
    "</textarea></title></script><script>alert(1)</script>",
    "<img src=x onerror=alert(document.domain)>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<!--<script>alert(1)//-->",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<a href=javascript:alert(1)>click</a>",
)

# Text that a Jinja renderer (dbt parsing YAML) would execute or choke on.
JINJA: tuple[str, ...] = (
    "{{ env_var('HOME') }}",
    "{{7*7}}",
    "{% if true %}yes{% endif %}",
    "{# hidden #}",
    "{{ 'unclosed",
    "{% raw %}",
    "{%- endraw -%}",
    "}} {{",
    "{{ exceptions.raise_compiler_error('boom') }}",
)

# Text that breaks hand-built YAML or is read as YAML structure.
YAML: tuple[str, ...] = (
    "key: value",
    "- item",
    "&anchor *alias",
    "!!python/object/apply:os.system ['true']",
    "\"quoted' mixed",
    "# not a comment",
    "line one\nline two",
    "yes",
    "~",
    "@at %percent `tick`",
)

# Slack mrkdwn control sequences and git-hostile text.
SLACK: tuple[str, ...] = ("<!channel>", "<!here|here>", "*bold* _it_ ~strike~", "<https://x.example|click me>")
GIT: tuple[str, ...] = ("../../etc/passwd", "refs/heads/main", "-rf --force", "name.lock", "a..b", "x@{1}", "tab\there")

# Invisible and direction-changing characters: must be shown visibly, never raw.
INVISIBLE: tuple[str, ...] = (
    "before\x00after",
    "admin\u202etxt.exe",
    "zero\u200bwidth",
    "isolate\u2066x\u2069",
    "bell\x07 escape\x1b[31m",
    "line\u2028separator",
)

# Hostile link targets (``_links.web.href`` and the like): none may become a link
# except an http(s) URL on the configured BI host.
URLS: tuple[str, ...] = (
    "javascript:alert(1)",
    " JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "https://evil.example/reports/abc",
    "https://app.mode.com@evil.example/",
    "http://[::1]:1/",
    "file:///etc/passwd",
)

LONG: str = "A" * 10_000

NAMES: tuple[str, ...] = HTML + JINJA + YAML + SLACK + GIT + INVISIBLE + (LONG,)
"""Every hostile string usable as a name, title or description."""

ALL: tuple[str, ...] = NAMES + URLS
