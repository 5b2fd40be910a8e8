"""Resumable training state: weights, optimiser, scheduler, RNG and progress, loaded without unpickling code.

Everything saved is tensors, numbers, strings, lists and dicts, so `torch.load(weights_only=True)` can
read it back; a file that needs more is refused rather than executed. A write killed halfway leaves a
temporary file named with its pid; the next save or load in that directory removes it once that process
is gone. `RunTotals` carries the wall time and the unfinished epoch's losses over a resume.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from daft.core.errors import UserError
from daft.store import cache

STATE_FILE = "state.pt"
TOTALS = "totals"


def rng_state() -> dict[str, Any]:
    """The RNG states that influence training (torch CPU/CUDA, Python's `random`)."""
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1])}
    state["python_version"] = random.getstate()[0]
    state["python_gauss"] = random.getstate()[2]
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` captured."""
    torch.set_rng_state(state["torch"])
    random.setstate((state["python_version"], tuple(state["python"]), state["python_gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def sweep(directory: Path) -> None:
    """Remove the temporary files of saves that were killed (their process is gone) from `directory`."""
    directory = Path(directory)
    cache.sweep(directory)
    # Names from before pids were marked: `.state.pt.<pid>.tmp` (111 MB for a MiniLM pair).
    for leftover in directory.glob(f".{STATE_FILE}.*.tmp"):
        pid = leftover.name.removeprefix(f".{STATE_FILE}.").removesuffix(".tmp")
        if pid.isdigit() and not cache.pid_alive(int(pid)):
            cache.remove(leftover)


def save(directory: Path, state: dict[str, Any]) -> None:
    """Write the state atomically (temp file + rename) so a kill never leaves a torn checkpoint."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sweep(directory)
    tmp = directory / f"{cache.staging_prefix(STATE_FILE)}tmp"
    try:
        torch.save(state, tmp)
        tmp.replace(directory / STATE_FILE)
    except BaseException:
        cache.remove(tmp)
        raise


def load(directory: Path) -> dict[str, Any] | None:
    """The saved state, None when there is none; a UserError for a file that is not a safe checkpoint."""
    sweep(directory)
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure means the checkpoint is unusable
        raise UserError(
            f"{path}: not a loadable checkpoint ({type(err).__name__}); delete it to start over"
        ) from None


@dataclass
class RunTotals:
    """Wall time and the losses since the last validation, so far; a resumed run starts from the saved ones.

    Without them a resumed run reports only its own part: the time since the restart as the training time,
    and the mean loss of the steps after the restart as the loss of an epoch that began before it.
    """

    seconds_before: float = 0.0
    losses: list[float] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    @classmethod
    def resumed(cls, saved: Mapping[str, Any] | None, started: float | None = None) -> RunTotals:
        """The totals stored in a loaded checkpoint under `TOTALS` (zero for a fresh run or an older file).

        `started`: the `time.perf_counter()` at which this process began the run (default: now).
        """
        record = (saved or {}).get(TOTALS) or {}
        seconds, losses = float(record.get("seconds", 0.0)), [float(x) for x in record.get("losses", [])]
        return cls(seconds, losses) if started is None else cls(seconds, losses, started)

    @property
    def seconds(self) -> float:
        """Wall time of the whole run: before the interruption and since this process started it again."""
        return self.seconds_before + time.perf_counter() - self.started

    def state(self) -> dict[str, Any]:
        """What to store under `TOTALS` in the checkpoint (plain values, loadable with weights_only)."""
        return {"seconds": self.seconds, "losses": list(self.losses)}
