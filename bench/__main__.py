"""`python -m bench`: run declarative benchmark suites and inspect their reports."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from bench.cli import baseline as baseline_cmd
from bench.cli import compare as compare_cmd
from bench.cli import history as history_cmd
from bench.cli import list as list_cmd
from bench.cli import report as report_cmd
from bench.cli import run as run_cmd
from daft import __version__
from daft.cli.runner import run, subcommands
from daft.progress import console

# Exit codes: 0 pass, 1 regression (`compare`), 2 unusable input, 3 a bug. Python's own code for an uncaught
# exception is 1, which CI would read as a regression: a crash must never look like a verdict.
CRASH = 3


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m bench`."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--version", action="version", version=f"bench {__version__}")
    commands = subcommands(parser)
    for module in (run_cmd, list_cmd, report_cmd, compare_cmd, baseline_cmd, history_cmd):
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (CRASH, with the traceback, for an unexpected exception)."""
    try:
        return run(build_parser(), argv)
    except Exception:  # noqa: BLE001 - anything a UserError did not explain is a bug, reported as one
        traceback.print_exc()
        console.print(f"[bold red]internal error[/] (a bug, not a verdict): exit code {CRASH}")
        return CRASH


if __name__ == "__main__":
    sys.exit(main())
