#!/usr/bin/env python
"""Run the metapipeline notebook chain for one params file and archive the run.

    python run_all.py --params params/default.yaml --set staleness.last_run_days=90
    python run_all.py --resume runs/<run_id>     # finish a run that failed or was interrupted

Each run goes to ``<runs_dir>/<run_id>/`` (executed notebooks, HTML, data, index.html);
``<runs_dir>/index.html`` lists all runs.

Exit status (for schedulers):

    0    done: every notebook ran and the BI crawl was complete
    1    failed: the message names the params key, or the notebook and cell
    2    bad command line
    3    done, but the BI crawl was incomplete: deletion proposals were withheld (or,
         with cleanup.allow_incomplete, proposed anyway); stderr says
         "crawl incomplete: deletions withheld" and lists the problems
    130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from lineage_utils.errors import MetapipelineError
from lineage_utils.publish.record import CrawlOutcome, crawl_message
from lineage_utils.runner import NOTEBOOKS, resume_chain, run_chain

HERE = Path(__file__).resolve().parent
DEFAULT_NOTEBOOKS_DIR = HERE / "notebooks"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2  # argparse's own
EXIT_CRAWL_INCOMPLETE = 3
EXIT_INTERRUPTED = 130

EXIT_STATUS_HELP = f"""exit status:
  {EXIT_OK}    done: every notebook ran and the BI crawl was complete
  {EXIT_FAILED}    failed: the message names the params key, or the notebook and cell
  {EXIT_USAGE}    bad command line
  {EXIT_CRAWL_INCOMPLETE}    done, but the BI crawl was incomplete: deletions withheld (see stderr)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_all.py",
        description="Run the notebook chain (" + ", ".join(NOTEBOOKS) + ") into a new run folder.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--params",
        type=Path,
        default=HERE / "params" / "default.yaml",
        help="params YAML file (default: params/default.yaml, the bundled demo)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one params key, e.g. --set staleness.last_run_days=90 (repeatable)",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME[,NAME]",
        help="run only these notebooks, in chain order (repeatable or comma-separated)",
    )
    parser.add_argument(
        "--runs-dir",
        type=Path,
        help="folder receiving the run (default: the params key run.runs_dir)",
    )
    parser.add_argument(
        "--publish",
        type=Path,
        metavar="DIR",
        help="copy the finished run to DIR/<run_id>/ and refresh DIR/index.html (the params key publish.dir)",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="run an earlier run again in its own folder and params: from the notebook that failed or was "
             "interrupted, or a completed run's last notebook (04_cleanup finishes an apply, repeating nothing)",
    )
    parser.add_argument(
        "--notebooks-dir",
        type=Path,
        help="folder holding the chain's notebooks (default: notebooks/ next to run_all.py)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (so redirection keeps working)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _configure_logging(verbose: bool) -> None:
    root = logging.getLogger()
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("lineage_utils").setLevel(logging.DEBUG if verbose else logging.INFO)
    # papermill logs every cell at INFO; keep it for --verbose.
    logging.getLogger("papermill").setLevel(logging.INFO if verbose else logging.WARNING)


def crawl_report(crawl: CrawlOutcome, run_dir: Path) -> str:
    """The stderr lines for an incomplete crawl: the verdict, then the problems (capped)."""
    lines = [crawl_message(crawl.deletions_withheld, (), crawl.problem_count)]
    lines += [f"  - {problem}" for problem in crawl.problems]
    if crawl.problem_count > len(crawl.problems):
        lines.append(f"  ... and {crawl.problem_count - len(crawl.problems)} more: "
                     f"see {run_dir / 'data' / 'crawl_status.json'}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.resume is not None and (args.overrides or args.only or args.runs_dir or args.publish):
        parser.error("--resume runs a run again under its own params.yaml: --set, --only, --runs-dir and --publish "
                     "do not apply")
    _configure_logging(args.verbose)
    try:
        if args.resume is not None:
            result = resume_chain(args.resume, notebooks_dir=args.notebooks_dir or DEFAULT_NOTEBOOKS_DIR,
                                  progress=not args.no_progress)
        else:
            publish = [f"publish.dir={args.publish.resolve()}"] if args.publish is not None else []
            result = run_chain(
                args.params,
                overrides=[*args.overrides, *publish],
                only=args.only,
                notebooks_dir=args.notebooks_dir or DEFAULT_NOTEBOOKS_DIR,
                notebooks=NOTEBOOKS,
                runs_dir=args.runs_dir,
                progress=not args.no_progress,
            )
    except MetapipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"run folder: {result.run_dir}")
    print(f"report:     {result.index_html}")
    if result.crawl is not None and not result.crawl.complete:
        print(crawl_report(result.crawl, result.run_dir), file=sys.stderr)
        return EXIT_CRAWL_INCOMPLETE
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
