"""Backends: run an encoder on one runtime/device/dtype/threads behind the loop's `Prepared` contract
(`bench.timing`).

Each backend module declares its `Backend`s (names, devices and dtypes, parity tolerance, encoder kinds,
`unavailable`, `prepare`); this registry is the one place that lists the modules. Adding a backend means
one module and one line in `_MODULES`. Modules are imported on first use, and none imports torch or
onnxruntime before an encoder is prepared, so `python -m bench list`, suite validation and `--dry-run`
stay light (tests/bench/test_cli_imports.py).
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from bench.backends.base import DTYPES, Backend, Target, check_target, parity, parse_device
from bench.timing import CudaTimer, Prepared
from daft.core.errors import UserError

if TYPE_CHECKING:
    from daft.models.encoders import Encoder

# The registration lines, in the order `bench list` and error messages show the backends.
_MODULES = (
    "bench.backends.torch_eager",
    "bench.backends.torch_compile",
    "bench.backends.torch_cudagraphs",
    "bench.backends.onnxruntime",
    "bench.backends.static",
    "bench.backends.model2vec_ref",
    "bench.backends.sentence_transformers_ref",
)

__all__ = [
    "DTYPES",
    "Backend",
    "CudaTimer",
    "Prepared",
    "Target",
    "backend",
    "names",
    "parity",
    "prepare",
    "registry",
    "unavailable",
]


@functools.cache
def registry() -> dict[str, Backend]:
    """Every registered backend by name, in registration order."""
    found: dict[str, Backend] = {}
    for module_name in _MODULES:
        module = importlib.import_module(module_name)
        for spec in module.BACKENDS:
            if spec.name in found:
                raise RuntimeError(f"backend {spec.name!r} registered twice (again in {module_name})")
            found[spec.name] = spec
    return found


def names() -> tuple[str, ...]:
    """The registered backend names."""
    return tuple(registry())


def backend(name: str) -> Backend:
    """The backend called `name`; UserError naming the known ones otherwise."""
    if name not in registry():
        raise UserError(f"unknown backend {name!r}; known: {', '.join(registry())}")
    return registry()[name]


def prepare(encoder: Encoder, target: Target, *, workdir: Path) -> Prepared:
    """Make `encoder` ready for `target` on its backend; UserError for unknown or unsupported combinations."""
    spec = backend(target.backend)
    check_target(target)
    if reason := spec.refuses(encoder.kind):
        raise UserError(reason)
    return spec.prepare(encoder, target, workdir=Path(workdir))


def unavailable(name: str, device: str) -> str | None:
    """Why backend `name` cannot run on `device` on this machine (no GPU, a CPU-only runtime build), or None."""
    if parse_device(device)[0] == "cpu":
        return None
    import torch

    if not torch.cuda.is_available():
        built = torch.version.cuda or "none (CPU-only build)"
        return f"no CUDA device: torch.cuda.is_available() is False (torch {torch.__version__}, CUDA {built})"
    return backend(name).unavailable(device)
