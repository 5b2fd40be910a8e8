"""Run an argparse program: user errors become one line on stderr and exit code 2; bugs keep their traceback."""

from __future__ import annotations

import argparse
import traceback
from collections.abc import Sequence

from rich.markup import escape

from daft.core.errors import UserError
from daft.core.progress import console, quiet_third_party

# Exit codes: 0 done (pass), 1 a regression (`bench compare`), 2 unusable input, 3 a bug. Python's own code for
# an uncaught exception is 1, which CI would read as a regression: a crash must never look like a verdict.
CRASH = 3


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, call the chosen subcommand's `func(args)`, and map the outcome to an exit code
    (CRASH, with the traceback, for an exception that no UserError explained)."""
    args = parser.parse_args(argv)
    quiet_third_party()  # before a subcommand imports transformers, which reads it at import
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
    except Exception:  # noqa: BLE001 - anything a UserError did not explain is a bug, reported as one
        traceback.print_exc()
        console.print(f"[bold red]internal error[/] (a bug, not a verdict): exit code {CRASH}")
        return CRASH


def subcommands(parser: argparse.ArgumentParser, title: str = "commands") -> argparse._SubParsersAction:
    """Add a required subcommand group to `parser`."""
    return parser.add_subparsers(title=title, dest="command", required=True, metavar="COMMAND")
