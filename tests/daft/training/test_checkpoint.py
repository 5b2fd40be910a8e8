"""Checkpoints: killed writes are cleaned at the next start, and totals survive a resume."""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch

from daft.training import checkpoint


def test_a_killed_save_is_cleaned_by_the_next_start(tmp_path: Path, dead_pid: int) -> None:
    checkpoint.save(tmp_path, {"step": torch.tensor(1)})
    killed = [tmp_path / f".state.pt.pid{dead_pid}.tmp", tmp_path / f".state.pt.{dead_pid}.tmp"]
    running = tmp_path / f".state.pt.pid{os.getppid()}.tmp"  # a save in progress in a live process
    for path in [*killed, running]:
        path.write_bytes(b"\0" * 1024)
    assert checkpoint.load(tmp_path)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([running.name, "state.pt"])


def test_totals_cover_the_whole_run_after_a_resume(tmp_path: Path) -> None:
    first = checkpoint.RunTotals(seconds_before=100.0, losses=[0.5, 0.25])
    checkpoint.save(tmp_path, {"step": 3, checkpoint.TOTALS: first.state()})
    resumed = checkpoint.RunTotals.resumed(checkpoint.load(tmp_path))
    assert resumed.losses == [0.5, 0.25]
    assert 100.0 <= resumed.seconds_before < 100.0 + 60.0
    assert resumed.seconds >= resumed.seconds_before
    since = checkpoint.RunTotals.resumed(
        {checkpoint.TOTALS: {"seconds": 5.0}}, started=time.perf_counter() - 60
    )
    assert since.seconds >= 65.0


def test_totals_of_a_fresh_run_or_an_older_checkpoint_start_at_zero() -> None:
    for saved in (None, {"step": 3}):
        totals = checkpoint.RunTotals.resumed(saved)
        assert totals.seconds_before == 0.0 and totals.losses == []
