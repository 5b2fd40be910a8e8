"""Where training runs: the device, the autocast precision, and encoder calls placed on that device."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import torch

from daft.core.errors import UserError
from daft.models.encoders import Encoder


def device(name: str) -> torch.device:
    """The torch device of [recipe] device ("auto": CUDA when torch sees one)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device = 'cuda' but torch sees no CUDA device")
    return torch.device(name)


def autocast(precision: str, on: torch.device) -> Any:
    """The autocast context of [recipe] precision on `on` (a no-op context for fp32 and on the CPU)."""
    if on.type != "cuda":
        if precision in ("fp16", "bf16"):
            raise UserError(f"precision = {precision!r} needs a CUDA device; use 'auto' or 'fp32' on the CPU")
        return nullcontext()
    if precision == "fp32":
        return nullcontext()
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    if precision == "auto" and not torch.cuda.is_bf16_supported():
        dtype = torch.float16
    return torch.autocast("cuda", dtype=dtype)


def features(
    encoder: Encoder, texts: list[str], max_length: int, on: torch.device
) -> dict[str, torch.Tensor]:
    """`encoder`'s tokenised inputs for `texts`, on `on`."""
    return {k: v.to(on) for k, v in encoder.tokenize(texts, max_length=max_length).items()}


@torch.inference_mode()
def raw_vectors(
    encoder: Encoder, texts: list[str], max_length: int, on: torch.device, cast: Any, batch_size: int = 128
) -> torch.Tensor:
    """Unnormalised outputs (the loss normalises), in input order, on the CPU."""
    out = []
    for start in range(0, len(texts), batch_size):
        with cast:
            out.append(
                encoder(**features(encoder, texts[start : start + batch_size], max_length, on)).float().cpu()
            )
    return torch.cat(out) if out else torch.zeros(0, encoder.dim)
