"""`torch-cudagraphs`: the encoder compiled with `torch.compile(mode="reduce-overhead")` on CUDA.

At batch 1 an eager transformer on a GPU is kernel-launch bound (minilm-l6 on an H100: 3.27 ms end to end,
2.87 ms forward, in results/device/); CUDA graphs replay the whole forward as one launch. Graphs need fixed
shapes, so this backend pads to `max_length` (one graph per batch size, captured during the warm-up that
calls each shape first) and compiles with `dynamic=False`. Tokenisation is the lean one every backend uses.
CUDA only: on a CPU machine its cells are excluded with that reason.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bench.backends.base import Backend, Target, parse_device
from bench.backends.torch_compile import CompiledPrepared
from daft.core.errors import UserError

if TYPE_CHECKING:
    from daft.models.encoders import Encoder

ON_CUDA_ONLY = "CUDA graphs are a CUDA feature"


class GraphedPrepared(CompiledPrepared):
    """CompiledPrepared in reduce-overhead mode with fixed (max_length) shapes."""

    def __init__(self, encoder: Encoder, target: Target):
        if parse_device(target.device)[0] != "cuda":
            raise UserError(f"{target.backend}: {ON_CUDA_ONLY}; got device {target.device!r}")
        # Fixed shapes are what make a graph replayable; "longest" would capture one per batch length.
        super().__init__(
            encoder, replace(target, padding="max_length"), mode="reduce-overhead", dynamic=False
        )
        self.info |= {"padding": "max_length", "padding_requested": target.padding, "cuda_graphs": True}


def prepare(encoder: Encoder, target: Target, *, workdir: Path) -> GraphedPrepared:
    """The encoder compiled for CUDA-graph replay (`workdir` is unused)."""
    return GraphedPrepared(encoder, target)


BACKENDS = (
    Backend(
        "torch-cudagraphs",
        "torch.compile(mode='reduce-overhead', dynamic=False), padded to max_length; cuda only",
        prepare,
        {"cuda": ("fp32", "fp16", "bf16")},
        off_device=ON_CUDA_ONLY,
    ),
)
