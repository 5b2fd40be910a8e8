"""`python -m daft`: train, export and inspect encoder pairs; manage assets and collections."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from daft import __version__
from daft.cli import assets as assets_cmd
from daft.cli import curves as curves_cmd
from daft.cli import data as data_cmd
from daft.cli import export as export_cmd
from daft.cli import gpu as gpu_cmd
from daft.cli import info as info_cmd
from daft.cli import summary as summary_cmd
from daft.cli import train as train_cmd
from daft.cli.runner import run, subcommands


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m daft`."""
    parser = argparse.ArgumentParser(prog="python -m daft", description=__doc__)
    parser.add_argument("--version", action="version", version=f"daft {__version__}")
    commands = subcommands(parser)
    for module in (train_cmd, export_cmd, info_cmd, curves_cmd, summary_cmd, assets_cmd, data_cmd, gpu_cmd):
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    return run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
