"""The consoles: piped tables keep every row whole; progress off a terminal is plain lines, and other
libraries' bars are kept out of a log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.table import Table

from daft.core import progress as progress_module
from daft.core.progress import PlainProgress, output_console, progress, quiet_third_party


def test_piped_tables_are_not_cut(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)  # stdout is captured: not a terminal
    long_name = "pairs/daft-" + "-".join(f"part{i}" for i in range(40))
    table = Table()
    for column in ("pair", *(f"metric {i}" for i in range(12))):
        table.add_column(column)
    table.add_row(long_name, *(f"{i / 7:.4f}" for i in range(12)))
    output_console().print(table)
    out = capsys.readouterr().out
    assert long_name in out and "…" not in out


def _lines_until(capsys: pytest.CaptureFixture[str], wanted: str, seen: list[str]) -> str:
    """stderr so far, read until `wanted` is in it (the ticker thread prints it; no time is asserted)."""
    deadline = time.monotonic() + 30
    while wanted not in "".join(seen) and time.monotonic() < deadline:
        seen.append(capsys.readouterr().err)
        time.sleep(0.01)
    return "".join(seen)


def test_off_a_terminal_progress_is_plain_lines_at_an_interval_and_at_the_end(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(progress_module, "PLAIN_INTERVAL_S", 0.01)  # stderr is captured: not a terminal
    seen: list[str] = []
    with progress() as bar:
        assert isinstance(bar, PlainProgress)
        task = bar.add_task("encode documents mean", total=20_000)
        bar.advance(task, 5_000)
        ticked = _lines_until(capsys, "eta", seen)
        bar.advance(task, 15_000)
    err = ticked + capsys.readouterr().err
    assert re.search(r"^encode documents mean: 5,000/20,000 \(25%\), \d+:\d\d:\d\d elapsed, eta ", err, re.M)
    assert re.search(r"\nencode documents mean: 20,000/20,000 \(100%\) in \d+:\d\d:\d\d\n$", err)
    assert err.count("(100%)") == 1 and "━" not in err and "…" not in err  # no bar, nothing cut


def test_a_plain_transfer_counts_bytes_and_a_transient_task_leaves_no_end_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with progress(transfer=True) as bar:
        bar.add_task("fetch model", total=17_300_000, completed=17_300_000)
    with progress(transient=True) as bar:
        bar.add_task("read lines", total=3, completed=3)
    assert capsys.readouterr().err == "fetch model: 17.3 MB/17.3 MB (100%) in 0:00:00\n"


def test_third_party_bars_are_silenced_off_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(progress_module, "on_terminal", lambda: True)
    quiet_third_party()
    assert "TQDM_DISABLE" not in os.environ
    monkeypatch.setattr(progress_module, "on_terminal", lambda: False)
    monkeypatch.setenv("TQDM_DISABLE", "0")  # what the user set wins
    quiet_third_party()
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1" and os.environ["TQDM_DISABLE"] == "0"


def test_a_cli_off_a_terminal_keeps_transformers_bars_out_of_the_log(tmp_path: Path) -> None:
    # "Loading weights" and "Writing model shards" are transformers' own bars, switched at its import.
    probe = (
        "from daft.cli.runner import run; import argparse, sys; p = argparse.ArgumentParser(); "
        "p.set_defaults(func=lambda a: print(__import__('transformers.utils.logging', fromlist=['x'])"
        ".is_progress_bar_enabled())); run(p, [])"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE")}
    with (tmp_path / "log").open("w") as log:  # stderr to a file, as in CI
        out = subprocess.run(
            [sys.executable, "-c", probe], stdout=subprocess.PIPE, stderr=log, text=True, env=env, check=True
        )
    assert out.stdout.strip() == "False"
