"""`torch`: the encoder in PyTorch eager mode under `inference_mode`; CPU fp32, CUDA fp32/fp16/bf16."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.backends.base import Backend, Closing, Target, check_target, torch_device, working_copy
from bench.timing import CudaTimer
from daft.core.errors import UserError
from daft.store.cache import weights_fingerprint

if TYPE_CHECKING:
    from torch import Tensor

    from daft.models.encoders import Encoder

# torch is imported in the methods that run it: the registry reads BACKENDS (suite validation, `bench list`,
# --dry-run) without paying for it. The dtypes by name, as torch spells them.
TORCH_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
# CPU half-precision kernels are emulated or missing for most ops: cpu runs fp32 only.
DEVICE_DTYPES = {"cpu": ("fp32",), "cuda": tuple(TORCH_DTYPES)}


class TorchPrepared(Closing):
    """An encoder on a torch device; `forward` calls `embed_fn` (the module's `embed`, or a compiled one)."""

    def __init__(self, encoder: Encoder, target: Target, *, backend: str):
        import torch

        check_target(target)
        device = torch_device(target)
        if device.type == "cpu" and target.dtype != "fp32":
            raise UserError(
                f"{backend}: dtype {target.dtype} on cpu is not supported (cpu runs fp32 only; "
                "half precision is for cuda)"
            )
        self.target = target
        self.device = device
        self._cuda = device.type == "cuda"
        self._previous_threads = torch.get_num_threads()
        self._was_training = encoder.training
        self._caller = encoder
        self._inference_mode = torch.inference_mode  # bound here: the timed call does no import
        sha = weights_fingerprint(encoder)  # of the caller's fp32 weights, before any cast
        self.encoder = working_copy(encoder, device, getattr(torch, TORCH_DTYPES[target.dtype])).eval()
        self.embed_fn: Callable[..., Tensor] = self.encoder.embed
        self.cuda_timer: CudaTimer | None = CudaTimer(str(device)) if self._cuda else None
        model_config = getattr(getattr(self.encoder, "model", None), "config", None)
        self.info: dict[str, Any] = {
            "backend": backend,
            "device": str(device),
            "device_name": torch.cuda.get_device_name(device) if self._cuda else None,
            "dtype": target.dtype,
            "threads": torch.get_num_threads(),
            "threads_requested": target.threads,
            "max_length": target.max_length,
            "padding": target.padding,
            "torch": torch.__version__,
            "weights_sha256": sha,
            "parameters": self.encoder.parameter_count(),
            "dim": self.encoder.dim,
            "encoder": self.encoder.kind,
            "attn_implementation": getattr(model_config, "_attn_implementation", None),
            # fp32 matmuls on CUDA may use TF32 unless this is "highest"; it changes both speed and parity.
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
            "pinned_inputs": self._cuda,
            "quantised": False,
        }
        if target.threads:  # last, so that a failure above leaves the process setting untouched
            torch.set_num_threads(target.threads)
            self.info["threads"] = torch.get_num_threads()

    def activate(self) -> None:
        """Set torch's thread count back to this target's (another Prepared may have changed it)."""
        import torch

        if self.target.threads:
            torch.set_num_threads(self.target.threads)

    def tokenize(self, texts: Sequence[str]) -> dict[str, Tensor]:
        """Tokenise on the host; on CUDA also queue the copies (from pinned memory, so they are async)."""
        features = self.encoder.tokenize(
            texts, max_length=self.target.max_length, padding=self.target.padding
        )
        if not self._cuda:
            return features
        # The copies are queued on the current stream ahead of forward's kernels, so they are not in the
        # event-timed span; the caching host allocator keeps each pinned block alive until its copy is done.
        return {k: v.pin_memory().to(self.device, non_blocking=True) for k, v in features.items()}

    def forward(self, inputs: dict[str, Tensor]) -> Tensor:
        """Queue the model call; the returned tensor may still be being computed on CUDA."""
        with self._inference_mode():
            return self.embed_fn(**inputs)

    def fetch(self, output: Tensor) -> np.ndarray:
        """Copy to the host as float32 (the copy waits for the device)."""
        return np.ascontiguousarray(output.float().cpu().numpy())

    def close(self) -> None:
        """Restore the thread count and the caller's train/eval mode; drop the device copy."""
        import torch

        torch.set_num_threads(self._previous_threads)
        self._caller.train(self._was_training)
        self.embed_fn = _closed
        self.encoder = self._caller
        if self._cuda:
            torch.cuda.empty_cache()


def _closed(**_: Tensor) -> Tensor:
    raise RuntimeError("this Prepared was closed")


def prepare(encoder: Encoder, target: Target, *, workdir: Path) -> TorchPrepared:
    """The encoder in eager mode on `target.device` in `target.dtype` (`workdir` is unused)."""
    return TorchPrepared(encoder, target, backend=target.backend)


BACKENDS = (
    Backend(
        "torch",
        "PyTorch eager under inference_mode; cpu fp32, cuda fp32/fp16/bf16",
        prepare,
        DEVICE_DTYPES,
    ),
)
