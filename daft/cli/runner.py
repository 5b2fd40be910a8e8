"""Run an argparse program: user errors become one line on stderr and exit code 2; bugs keep their traceback."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from rich.markup import escape

from daft.errors import UserError
from daft.progress import console


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, call the chosen subcommand's `func(args)`, and map the outcome to an exit code."""
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as err:
        # soft_wrap: Rich must not break the message over several lines (CI greps it).
        # escape: messages quote TOML tables like [latency], which Rich would take for markup.
        console.print(f"[bold red]error:[/] {escape(str(err))}", soft_wrap=True, highlight=False)
        return UserError.exit_code
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130


def subcommands(parser: argparse.ArgumentParser, title: str = "commands") -> argparse._SubParsersAction:
    """Add a required subcommand group to `parser`."""
    return parser.add_subparsers(title=title, dest="command", required=True, metavar="COMMAND")
