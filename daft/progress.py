"""The shared Rich console and the progress bar every long step uses."""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

# Progress and diagnostics go to stderr so that stdout stays clean for tables and --json.
console = Console(stderr=True, soft_wrap=True)  # soft_wrap: a message stays one line in logs


# Piped output (logs, CI, `| less`) has no width to fit: tables take their natural width, so no name or
# value is cut to "…" or wrapped. A table never expands to the console width, so this pads nothing.
PIPED_WIDTH = 100_000


def output_console() -> Console:
    """A stdout console for tables: the terminal's width (or $COLUMNS), else unlimited, so rows stay whole."""
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else PIPED_WIDTH
    return Console(width=width)


def progress(*, transfer: bool = False, transient: bool = False, disable: bool = False) -> Progress:
    """A Rich progress display: items done/total with ETA, or bytes with speed when `transfer`."""
    counter = (DownloadColumn(), TransferSpeedColumn()) if transfer else (MofNCompleteColumn(),)
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        *counter,
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
        disable=disable,
    )
