"""Publishing a run as HTML: executed notebooks, the run's index page, the list of runs.

Everything written here is self-contained and works offline: no script, stylesheet or
font is fetched from a CDN; CSS is inline and images are embedded. Text that comes from
outside (report names, error messages, summary values) is escaped by the templates'
autoescaping (safety invariant 7). Every file is written atomically.

Run folder contracts owned by this module:

- ``run.json``: the run record (``publish.record``), the source of each run's status. A run
  left ``running`` by a dead process is marked ``interrupted`` when the list of runs is
  written (so by the next run), and its page is rewritten to say so.
- ``index.html``: the run's page, built from ``run.json`` and ``data/summary.json``.
- ``<runs_dir>/index.html``: every run, newest first.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import nbformat
from nbconvert import HTMLExporter
from traitlets.config import Config

from lineage_utils.atomic import write_text_atomic
from lineage_utils.publish.record import RUN_RECORD, FailureInfo, read_run_record, settle_abandoned
from lineage_utils.publish.templating import TEMPLATES_DIR, render
from lineage_utils.publish.story import run_story
from lineage_utils.run_folder import LAB_RUN, STAGES

logger = logging.getLogger(__name__)

NOTEBOOK_TEMPLATE = "metapipeline_lab"

RUN_INDEX = "index.html"
SUMMARY = Path("data") / "summary.json"

#: Cells with one of these tags are shown without their source in the HTML.
REMOVE_INPUT_TAGS = frozenset({"remove_input", "parameters", "injected-parameters"})
REMOVE_CELL_TAGS = frozenset({"remove_cell"})
REMOVE_OUTPUT_TAGS = frozenset({"remove_output"})


MISSING = "—"


# ------------------------------------------------------------------ notebook -> HTML


def _notebook_exporter() -> HTMLExporter:
    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_input_tags = set(REMOVE_INPUT_TAGS)
    config.TagRemovePreprocessor.remove_cell_tags = set(REMOVE_CELL_TAGS)
    config.TagRemovePreprocessor.remove_all_outputs_tags = set(REMOVE_OUTPUT_TAGS)
    exporter = HTMLExporter(
        config=config,
        template_name=NOTEBOOK_TEMPLATE,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        embed_images=True,
        # A page is for the reader of the findings: no code, no prompts, no papermill labels
        # (the executed .ipynb beside it keeps them). Cells show their outputs and the markdown.
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        # The template drops these blocks; empty URLs make sure nothing slips back in.
        require_js_url="",
        mathjax_url="",
        mermaid_js_url="",
        jupyter_widgets_base_url="",
        widget_renderer_url="",
    )
    # nbconvert's own notes (e.g. images without alt text) under our logger's name.
    exporter.log = logging.getLogger(f"{__name__}.nbconvert")
    return exporter


def render_notebook(ipynb: Path, html: Path) -> None:
    """Render an (executed) notebook to one self-contained, offline HTML file.

    No code cell shows its source or prompt, only its outputs (the executed notebook
    keeps the code); ``remove_cell`` drops a cell, ``remove_output`` its outputs.
    """
    nb = nbformat.read(ipynb, as_version=4)
    resources = {"metadata": {"name": ipynb.stem, "path": str(ipynb.parent)}}
    body, _ = _notebook_exporter().from_notebook_node(nb, resources=resources)
    external = find_external_resources(body)
    if external:
        # Only notebook outputs can bring these in (the template adds none).
        logger.warning(
            "%s loads %d resource(s) from the network and will not work offline: %s",
            html.name,
            len(external),
            ", ".join(external[:5]),
        )
    write_text_atomic(html, body)
    logger.debug("rendered %s -> %s", ipynb, html)


class _ExternalResourceFinder(HTMLParser):
    _ATTRS = {"script": "src", "link": "href", "img": "src", "iframe": "src"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = self._ATTRS.get(tag)
        for name, value in attrs:
            if name == wanted and value and _is_remote(value):
                self.found.append(value)


def _is_remote(url: str) -> bool:
    return bool(re.match(r"\s*(https?:)?//", url, flags=re.IGNORECASE))


_CSS_REMOTE = re.compile(
    r"""(?:url\(\s*['"]?|@import\s+['"])((?:https?:)?//[^'")\s]+)""", re.IGNORECASE
)


def find_external_resources(html_text: str) -> list[str]:
    """URLs the page would fetch remotely: script/link/img/iframe sources, CSS imports."""
    finder = _ExternalResourceFinder()
    finder.feed(html_text)
    finder.close()
    return finder.found + _CSS_REMOTE.findall(html_text)


# ------------------------------------------------------------------ index pages


@dataclass(frozen=True)
class _Headline:
    key: str
    label: str
    kind: Literal["count", "rate", "flag"]


#: The numbers shown for every run, from ``data/summary.json``. Every key is optional.
HEADLINES: tuple[_Headline, ...] = (
    _Headline("models", "Models", "count"),
    _Headline("reports", "BI reports", "count"),
    _Headline("queries", "BI queries", "count"),
    _Headline("stale_reports", "Stale reports", "count"),
    _Headline("orphan_models", "Orphan models", "count"),
    _Headline("ref_resolution_rate", "Reference resolution rate", "rate"),
    _Headline("crawl_complete", "Crawl complete", "flag"),
    _Headline("exposures_generated", "Exposures generated", "count"),
)


def format_value(value: Any, kind: str = "count") -> str:
    """Display text for one summary value; missing values show as an em dash."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "rate" and isinstance(value, int | float) and 0 <= value <= 1:
        return f"{value * 100:.1f} %"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def headline_values(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``[(label, display text), ...]`` for :data:`HEADLINES`, in order."""
    rows = []
    for h in HEADLINES:
        text = format_value(summary.get(h.key), h.kind)
        if h.key == "orphan_models" and summary.get("deletions_withheld") is True and text != MISSING:
            text += " (unconfirmed: crawl incomplete, no deletion proposed)"
        rows.append((h.label, text))
    return rows


CLEANUP_PAGE = "04_cleanup.html"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def next_steps(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What to do now, from the run's summary: ``[(what, link to its section), ...]``; none before 04_cleanup ran."""
    if "stale_reports" not in summary or "orphan_models" not in summary:
        return []
    steps = []
    stale, orphans = int(summary.get("stale_reports") or 0), int(summary.get("orphan_models") or 0)
    if stale:
        steps.append((f"Archive {_plural(stale, 'stale report', 'stale reports')} in the BI tool: each names the "
                      "rule it broke.", f"{CLEANUP_PAGE}#Stale-reports-to-archive"))
    if orphans and summary.get("deletions_withheld"):
        steps.append((f"Fix the crawl first: {_plural(orphans, 'model looks', 'models look')} orphaned in what was "
                      "crawled, but the crawl was incomplete, so no removal is proposed.",
                      f"{CLEANUP_PAGE}#Orphan-models"))
    elif orphans:
        steps.append((f"Review the removal of {_plural(orphans, 'orphan model', 'orphan models')}: the evidence, the "
                      "patch and the pull request.", f"{CLEANUP_PAGE}#Orphan-models"))
    changes = [(int(summary.get(f"exposures_{kind}") or 0), kind) for kind in ("added", "changed", "removed")]
    if any(count for count, _ in changes):
        said = ", ".join(f"{count:,} {kind}" for count, kind in changes if count)
        steps.append((f"Merge the exposures update ({said}) so dbt docs show who reads each model.",
                      f"{CLEANUP_PAGE}#Generated-exposures"))
    return steps or [("Nothing to clean up: no stale report, no orphan model, and the exposures are current.",
                      f"{CLEANUP_PAGE}#Summary")]


def read_summary(run_dir: Path) -> dict[str, Any]:
    """``data/summary.json`` as a dict; empty (and logged) when missing or malformed."""
    path = run_dir / SUMMARY
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        logger.warning("cannot read %s: %s", path, exc)
        return {}
    if not isinstance(data, dict):
        logger.warning("%s is not a JSON object; ignoring it", path)
        return {}
    return data


def _href(relative: Path) -> str:
    return "/".join(quote(part) for part in relative.parts)


def _notebook_rows(
    run_dir: Path, notebooks: Sequence[str], failed: FailureInfo | None
) -> list[dict[str, str | None]]:
    rows = []
    for name in notebooks:
        html = run_dir / f"{name}.html"
        ipynb = run_dir / f"{name}.ipynb"
        if failed is not None and failed.notebook == name:
            status = f"failed at {failed.where()}"
        elif ipynb.exists():
            status = "executed"
        else:
            status = "not run"
        rows.append(
            {
                "name": name,
                "status": status,
                "html_href": _href(Path(html.name)) if html.exists() else None,
                "ipynb_href": _href(Path(ipynb.name)) if ipynb.exists() else None,
            }
        )
    return rows


def _data_files(run_dir: Path) -> list[tuple[str, str, str | None]]:
    """(label, href, href of the parquet file) per file: a table as its CSV twin (a browser opens it), then the rest."""
    files = [run_dir / "params.yaml", run_dir / RUN_RECORD]
    data_dir = run_dir / "data"
    if data_dir.is_dir():
        files += sorted(p for p in data_dir.rglob("*") if p.is_file() and p.suffix != ".lock")
    for extra in ("actions.jsonl", "cleanup.patch"):
        files.append(run_dir / extra)
    result = []
    for path in files:
        if not path.is_file() or path.name.startswith("."):
            continue
        twin = path.with_suffix(".parquet") if path.suffix == ".csv" else None
        if path.suffix == ".parquet" and path.with_suffix(".csv").is_file():
            continue  # listed with its CSV twin
        relative = path.relative_to(run_dir)
        parquet = _href(twin.relative_to(run_dir)) if twin is not None and twin.is_file() else None
        result.append((relative.as_posix(), _href(relative), parquet))
    return result


def write_run_index(
    run_dir: Path, notebooks: Sequence[str], failed: FailureInfo | None
) -> Path:
    """Write ``<run_dir>/index.html``: status, notes (interruption, crawl), numbers, notebooks, files."""
    record = read_run_record(run_dir)
    summary = read_summary(run_dir)
    if record is not None:
        status: str = record.status
    else:
        status = "failed" if failed is not None else "complete"
    notes = [f"Failed at {failed.describe()}"] if failed else []
    notes += record.notes() if record is not None else []
    headline_keys = {h.key for h in HEADLINES}
    other_values = [
        (key, format_value(summary[key])) for key in sorted(summary) if key not in headline_keys
    ]
    page = render("run_index.html.j2",
        run_id=record.run_id if record else run_dir.name,
        status=status,
        started_at=record.started_at if record else None,
        finished_at=record.finished_at if record else None,
        notes=notes,
        headlines=headline_values(summary),
        story=run_story(run_dir, record.started_at if record else None),
        steps=[(what, href if (run_dir / href.split("#")[0]).is_file() else None)  # no link to a page not there
               for what, href in next_steps(summary)],
        notebooks=_notebook_rows(run_dir, notebooks, failed),
        files=_data_files(run_dir),
        other_values=other_values,
    )
    path = run_dir / RUN_INDEX
    write_text_atomic(path, page)
    return path


def _run_sort_key(run_id: str) -> tuple[str, int]:
    base, _, suffix = run_id.partition("-")
    return base, int(suffix) if suffix.isdigit() else 1


def _bi_source(run_dir: Path, summary: Mapping[str, Any]) -> str | None:
    """The BI side of a run: its workspace, and "snapshot" when it was read from one (not the live API)."""
    workspace = summary.get("workspace")
    try:
        source = json.loads((run_dir / "data" / "crawl_status.json").read_text(encoding="utf-8")).get("source")
    except (OSError, ValueError, AttributeError):
        source = None
    if workspace is None and source is None:
        return None
    return " ".join(str(part) for part in (workspace, f"({source})" if source else None) if part)


def write_runs_index(runs_dir: Path) -> Path:
    """Write ``<runs_dir>/index.html``: every run that has a ``run.json``, newest first."""
    runs = []
    run_dirs = [p for p in runs_dir.iterdir() if p.is_dir()] if runs_dir.is_dir() else []
    for run_dir in run_dirs:
        record = read_run_record(run_dir)
        if record is None:
            continue
        if record.status == "running":
            settled = settle_abandoned(run_dir)
            if settled is not None:
                record = settled
                write_run_index(run_dir, record.notebooks, record.failure)
        summary = read_summary(run_dir)
        notes = []
        if record.failure is not None:
            notes.append(f"at {record.failure.where()}")
        elif record.failed_notebook:
            notes.append(f"at {record.failed_notebook}")
        notes += record.notes(detail=False)
        partial = tuple(record.notebooks) != STAGES
        if partial:
            notes.insert(0, "partial run: " + ", ".join(record.notebooks))
        if run_dir.name == LAB_RUN:
            notes.insert(0, "lab run (JupyterLab, published by make lab-publish)")
        runs.append(
            {
                "run_id": record.run_id,
                "project": summary.get("project"),
                "source": _bi_source(run_dir, summary),
                "partial": partial,
                "href": _href(Path(run_dir.name) / RUN_INDEX),
                "status": record.status,
                "notes": notes,
                "started_at": record.started_at,
                "headline_values": [value for _, value in headline_values(summary)],
                "sort_key": _run_sort_key(run_dir.name),
            }
        )
    runs.sort(key=lambda run: run["sort_key"], reverse=True)
    page = render("runs_index.html.j2",
        runs=runs, headline_labels=[h.label for h in HEADLINES]
    )
    path = runs_dir / RUN_INDEX
    write_text_atomic(path, page)
    return path
