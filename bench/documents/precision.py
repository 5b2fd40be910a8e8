"""The document side's precision when building the index: fp32, bf16, or ONNX Runtime fp32/int8.

Encoding the corpus is the slowest stage of a retrieval suite on CPU. Every precision keeps the same
length-sorted batches and lean tokenisation (`daft.models.tokenization`); they differ in the forward pass:
- `fp32`: torch fp32 (`Encoder.encode`), the reference;
- `bf16`: on CPU a bfloat16 copy of the encoder (weights cast once, so oneDNN runs its AVX-512 BF16 / AMX
  kernels on them directly; autocast would re-cast every weight at every call), on CUDA autocast; slow
  where the CPU emulates bf16;
- `onnx-fp32`, `onnx-int8`: the onnxruntime backend's cached graph (exported and checked against torch,
  or dynamically quantised to int8 weights), its session and its tokenisation.
The vectors differ by precision, so the embeddings cache keys include it, and the retrieval runner checks
the precision's dense quality against fp32 on the suite's split.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from bench.backends import onnxruntime as ort_backend
from bench.backends.base import Target
from daft.core.errors import UserError
from daft.core.finite import require_finite
from daft.search.embeddings import REFERENCE

if TYPE_CHECKING:
    from daft.models.encoders import Encoder

# torch is imported where it is used: suite validation and --dry-run read these names without it.

PRECISIONS = ("fp32", "bf16", "onnx-fp32", "onnx-int8")
# A suite setting, resolved per machine (`resolve_precision`): never a cache key or a report value.
AUTO = "auto"
SETTINGS = (AUTO, *PRECISIONS)
_ONNX = {"onnx-fp32": "onnxruntime", "onnx-int8": "onnxruntime-int8"}  # precision -> backend name


def native_bf16(device_type: str = "cpu") -> bool:
    """Whether this machine runs bf16 matmuls natively (AVX-512 BF16 or AMX; a bf16-capable GPU)."""
    import torch

    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def resolve_precision(setting: str, device_type: str = "cpu") -> str:
    """The precision a setting means here: `auto` is bf16 where it is native (2.7x fp32 on this project's
    Xeon at +0.0001 nDCG@10, docs/SCALE.md) and fp32 where it would be emulated (slower than fp32)."""
    if setting != AUTO:
        return setting
    return "bf16" if native_bf16(device_type) else REFERENCE


def describe(precision: str, setting: str | None) -> str:
    """The precision documents are encoded in, with why where `auto` chose it: said alike live, by --dry-run
    and in the report (a 17-minute fp32 encode must not look like the 3-minute bf16 one)."""
    if setting != AUTO:
        return precision
    if precision == REFERENCE:
        return f"{precision} (doc_precision auto: no native bf16 on the encoding machine)"
    return f"{precision} (doc_precision auto: native {precision} on the encoding machine; not checked against fp32)"


def _device_type(encoder: Encoder, device: str | None) -> str:
    import torch

    return torch.device(device).type if device else next(encoder.parameters()).device.type


def _onnx(
    encoder: Encoder,
    texts: Sequence[str],
    backend: str,
    *,
    max_length: int,
    batch_size: int,
    on_batch: Callable[[int], None] | None,
) -> np.ndarray:
    from daft.models.encoders import encode_by_length

    prepared = ort_backend.OrtPrepared(encoder, Target(backend, max_length=max_length))
    try:
        out = encode_by_length(
            texts,
            encoder.dim,
            batch_size,
            lambda chunk: prepared.fetch(prepared.forward(prepared.tokenize(chunk))),
            on_batch,
        )
    finally:
        prepared.close()
    return require_finite(out, f"{encoder.kind} encoder ({encoder.dim}-d, {backend})")


def encode_documents(
    encoder: Encoder,
    texts: Sequence[str],
    *,
    precision: str = REFERENCE,
    max_length: int,
    batch_size: int,
    device: str | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> np.ndarray:
    """L2-normalised float32 vectors of `texts` computed at `precision` (one of `PRECISIONS`)."""
    if precision not in PRECISIONS:
        raise UserError(f"unknown document precision {precision!r}; known: {', '.join(PRECISIONS)}")
    kind = _device_type(encoder, device)
    if precision in _ONNX:
        if kind != "cpu":
            raise UserError(f"document precision {precision} runs on cpu only; use fp32 or bf16 on {kind}")
        if not len(texts):
            return np.zeros((0, encoder.dim), dtype=np.float32)
        return _onnx(
            encoder, texts, _ONNX[precision], max_length=max_length, batch_size=batch_size, on_batch=on_batch
        )
    import torch

    if precision == "bf16" and kind == "cpu":
        half = copy.deepcopy(encoder).to(torch.bfloat16)
        rows = half.encode(
            texts, batch_size=batch_size, max_length=max_length, device=device, on_batch=on_batch
        )
        # Normalised in bf16 the norms are only within ~0.3% of 1: normalise the float32 rows again.
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    with torch.autocast(kind, dtype=torch.bfloat16, enabled=precision == "bf16"):
        return encoder.encode(
            texts, batch_size=batch_size, max_length=max_length, device=device, on_batch=on_batch
        )
