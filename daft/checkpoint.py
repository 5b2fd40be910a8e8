"""Resumable training state: weights, optimiser, scheduler, RNG and progress, loaded without unpickling code.

Everything saved is tensors, numbers, strings, lists and dicts, so `torch.load(weights_only=True)` can
read it back; a file that needs more is refused rather than executed.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import torch

from daft.cache import remove
from daft.errors import UserError

STATE_FILE = "state.pt"


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


def save(directory: Path, state: dict[str, Any]) -> None:
    """Write the state atomically (temp file + rename) so a kill never leaves a torn checkpoint."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{STATE_FILE}.{os.getpid()}.tmp"
    try:
        torch.save(state, tmp)
        os.replace(tmp, directory / STATE_FILE)
    except BaseException:
        remove(tmp)
        raise


def load(directory: Path) -> dict[str, Any] | None:
    """The saved state, None when there is none; a UserError for a file that is not a safe checkpoint."""
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure means the checkpoint is unusable
        raise UserError(
            f"{path}: not a loadable checkpoint ({type(err).__name__}); delete it to start over"
        ) from None
