"""The shared Rich console and the progress bar every long step uses.

On a terminal the bar redraws in place. Off one (a log file, CI) nothing can redraw: a Rich bar would show
nothing until its end and then a line cut to 80 columns, and other libraries' bars (transformers' "Loading
weights", "Writing model shards") would print their own. There every task is one plain line at a steady
interval and once when it ends (`PlainProgress`), and the CLIs silence other libraries' bars
(`quiet_third_party`).
"""

from __future__ import annotations

import datetime
import os
import sys
import threading

from rich.console import Console
from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    Task,
    TaskID,
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


# Off a terminal: one line per unfinished task this often, so a log shows a long step is alive and how far.
PLAIN_INTERVAL_S = 30.0

# What other libraries read to draw no bar: huggingface_hub and transformers (at import), and tqdm's default.
_QUIET_BARS = {"HF_HUB_DISABLE_PROGRESS_BARS": "1", "TQDM_DISABLE": "1"}


def on_terminal() -> bool:
    """Whether progress can redraw in place (stderr is an interactive, non-dumb terminal)."""
    return console.is_terminal and not console.is_dumb_terminal


def quiet_third_party() -> None:
    """Off a terminal, keep other libraries' progress bars out of the log (a variable the user set wins).

    Called by the CLIs before the heavy libraries are imported, since transformers reads it at import."""
    if not on_terminal():
        for name, value in _QUIET_BARS.items():
            os.environ.setdefault(name, value)


def _clock(seconds: float | None) -> str:
    return "?" if seconds is None else str(datetime.timedelta(seconds=int(seconds)))


class PlainProgress(Progress):
    """Rich's task bookkeeping without its live display, for a log: every `interval_s` one line per started,
    unfinished, visible task (done/total, elapsed, eta), and one line per task when it ends (transient tasks
    only while they run)."""

    def __init__(self, *, transfer: bool, transient: bool, interval_s: float):
        super().__init__(console=console, disable=True)
        self._transfer, self._transient, self._interval_s = transfer, transient, interval_s
        self._ended: set[TaskID] = set()
        self._stopping = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="plain-progress", daemon=True)

    def start(self) -> None:
        super().start()
        self._ticker.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._ticker.is_alive():
            self._ticker.join()
        self._report(final=True)
        super().stop()

    def _tick(self) -> None:
        while not self._stopping.wait(self._interval_s):
            self._report(final=False)

    def _report(self, *, final: bool) -> None:
        for task in self.tasks:
            if task.id in self._ended or not task.started or not task.visible:
                continue  # a hidden task (e.g. the run's bar on an error) leaves no line
            ended = task.finished or final
            if ended:
                self._ended.add(task.id)
            if not (ended and self._transient):
                console.print(self._line(task, ended), highlight=False)

    def _line(self, task: Task, ended: bool) -> str:
        amount = decimal if self._transfer else "{:,.0f}".format
        done = amount(task.completed) + ("" if task.total is None else f"/{amount(task.total)}")
        share = "" if not task.total else f" ({task.completed / task.total:.0%})"
        if ended:
            return f"{task.description}: {done}{share} in {_clock(task.elapsed)}"
        return f"{task.description}: {done}{share}, {_clock(task.elapsed)} elapsed, eta {_clock(task.time_remaining)}"


def progress(*, transfer: bool = False, transient: bool = False, disable: bool = False) -> Progress:
    """A Rich progress display: items done/total with ETA, or bytes with speed when `transfer`; off a
    terminal, plain lines at a steady interval (`PlainProgress`)."""
    if not disable and not on_terminal():
        return PlainProgress(transfer=transfer, transient=transient, interval_s=PLAIN_INTERVAL_S)
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
