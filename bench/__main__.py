"""`python -m bench`: run declarative benchmark suites and inspect their reports."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bench.cli import baseline as baseline_cmd
from bench.cli import compare as compare_cmd
from bench.cli import encode as encode_cmd
from bench.cli import history as history_cmd
from bench.cli import indexes as indexes_cmd
from bench.cli import list as list_cmd
from bench.cli import publish as publish_cmd
from bench.cli import report as report_cmd
from bench.cli import run as run_cmd
from bench.cli import speedups as speedups_cmd
from daft import __version__
from daft.cli.runner import CRASH, run, subcommands

__all__ = ["CRASH", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m bench`."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--version", action="version", version=f"bench {__version__}")
    commands = subcommands(parser)
    for module in (
        run_cmd,
        list_cmd,
        report_cmd,
        compare_cmd,
        baseline_cmd,
        history_cmd,
        speedups_cmd,
        encode_cmd,
        indexes_cmd,
        publish_cmd,
    ):
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0, 1 a regression, 2 unusable input, CRASH a bug)."""
    return run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
