"""The optimiser of a stage: AdamW over parameter groups, linear warm-up then a constant rate."""

from __future__ import annotations

from typing import Any

import torch

from daft.models.encoders import Encoder
from daft.training.recipe import EncoderRecipe, TrainSpec


def param_groups(encoder: Encoder, spec: EncoderRecipe) -> list[dict[str, Any]]:
    """AdamW parameter groups of one side: the encoder at `spec.lr`, its projection at `spec.projection_lr` if set."""
    projection = encoder.projection
    if projection is None or spec.projection_lr is None:
        return [{"params": list(encoder.parameters()), "lr": spec.lr}]
    own = {id(p) for p in projection.parameters()}
    return [
        {"params": [p for p in encoder.parameters() if id(p) not in own], "lr": spec.lr},
        {"params": list(projection.parameters()), "lr": spec.projection_lr},
    ]


def optimiser(groups: list[dict[str, Any]], train: TrainSpec) -> tuple[torch.optim.AdamW, Any]:
    """A fresh AdamW over `groups` and its warm-up scheduler."""
    try:
        # The fused kernel: one pass over each parameter instead of a chain of foreach ops, which on a
        # CPU made the step of an L0's 11.7 M-entry table about 8x faster (the same update).
        optimizer = torch.optim.AdamW(groups, weight_decay=train.weight_decay, fused=True)
    except RuntimeError:  # a torch or device without the fused kernel
        optimizer = torch.optim.AdamW(groups, weight_decay=train.weight_decay)
    warmup = max(train.warmup_steps, 0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) if warmup else 1.0
    )
    return optimizer, scheduler
