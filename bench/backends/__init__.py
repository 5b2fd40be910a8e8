"""Backends: run an encoder on one runtime/device/dtype/threads behind the `Prepared` interface.

The registry maps names to modules that are imported only when used, so `python -m bench list` and the
torch backends never import onnxruntime.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from bench.backends.base import DTYPES, CudaTimer, Prepared, Target, check_target, parity, parse_device
from daft.errors import UserError

if TYPE_CHECKING:
    from daft.encoders import Encoder

BACKENDS: dict[str, str] = {
    "torch": "PyTorch eager under inference_mode; cpu fp32, cuda fp32/fp16/bf16",
    "torch-compile": "torch.compile(dynamic=True) of the eager model; the first calls compile",
    "onnxruntime": "ONNX Runtime on the exported graph; cpu fp32, cuda fp32/fp16",
    "onnxruntime-int8": "ONNX Runtime on the dynamically quantised graph (int8 weights); cpu only",
}
_MODULES = {
    "torch": "torch_eager",
    "torch-compile": "torch_compile",
    "onnxruntime": "onnxruntime",
    "onnxruntime-int8": "onnxruntime",
}

__all__ = ["BACKENDS", "DTYPES", "CudaTimer", "Prepared", "Target", "parity", "prepare", "unavailable"]


def prepare(encoder: Encoder, target: Target, *, workdir: Path) -> Prepared:
    """Make `encoder` ready for `target` on its backend; UserError for unknown or unsupported combinations."""
    if target.backend not in _MODULES:
        raise UserError(f"unknown backend {target.backend!r}; known: {', '.join(BACKENDS)}")
    check_target(target)
    module = importlib.import_module(f"{__name__}.{_MODULES[target.backend]}")
    return module.prepare(encoder, target, workdir=Path(workdir))


def unavailable(backend: str, device: str) -> str | None:
    """Why `backend` cannot run on `device` on this machine (no GPU, a CPU-only runtime build), or None."""
    if parse_device(device)[0] == "cpu":
        return None
    import torch

    if not torch.cuda.is_available():
        built = torch.version.cuda or "none (CPU-only build)"
        return f"no CUDA device: torch.cuda.is_available() is False (torch {torch.__version__}, CUDA {built})"
    module = importlib.import_module(f"{__name__}.{_MODULES[backend]}")
    check = getattr(module, "unavailable", None)
    return check(device) if check else None
