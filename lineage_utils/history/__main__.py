"""``python -m lineage_utils.history import DIR``: start the history before metapipeline ran.

Imports every archived dbt run_results file under DIR (recursively, ``.json`` and
``.json.gz``) and history seeds (see ``history.importer``) into the store named by
``--store``, or by ``history.path`` of ``--params`` (default ``params/default.yaml``).
Prints one line per file (added, skipped and why, BAD and why) and a total.

Exit codes:

* 0: every file was added or skipped (already stored, or not run_results);
* 1: at least one file was bad (named on its line); every other file was still imported;
* 2: nothing was imported: a wrong command line, DIR or params file, or a store that
  cannot be opened or stayed locked by another run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from lineage_utils.errors import MetapipelineError
from lineage_utils.history.importer import import_folder
from lineage_utils.params import load_params

EXIT_OK, EXIT_BAD_FILES, EXIT_FAILED = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lineage_utils.history", description=__doc__.split("\n\n")[0],
                                     epilog="exit codes: 0 all added or skipped; 1 some files bad, the rest "
                                            "imported; 2 nothing imported (usage, params or store error)")
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("import", help="import archived run_results.json(.gz) files from a folder")
    command.add_argument("folder", type=Path, help="folder searched recursively for *.json and *.json.gz")
    where = command.add_mutually_exclusive_group()
    where.add_argument("--store", type=Path, help="the history DuckDB file (default: history.path of --params)")
    where.add_argument("--params", type=Path, default=Path("params/default.yaml"),
                       help="params file whose history.path names the store (default: params/default.yaml)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help is 0, a usage error 2
        return int(exc.code or 0)
    try:
        store = args.store or load_params(args.params).path("history.path")
        report = import_folder(store, args.folder)
    except MetapipelineError as exc:
        print(f"history import failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"history store {store}")
    print("\n".join(report.lines()))
    return EXIT_BAD_FILES if report.bad else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
