"""The optimiser's parameter groups."""

from __future__ import annotations

import pytest

from daft.models.build import build
from daft.training.optim import param_groups
from daft.training.recipe import EncoderRecipe


@pytest.mark.parametrize("projection_lr", [None, 1e-2])
def test_param_groups_give_the_projection_its_own_lr(tiny_tokenizer_dir, projection_lr):
    encoder = build({"type": "static", "arch": {"hidden": 16}, "tokenizer": tiny_tokenizer_dir, "dim": 8})
    groups = param_groups(encoder, EncoderRecipe(lr=1e-4, projection_lr=projection_lr))
    assert [g["lr"] for g in groups] == ([1e-4] if projection_lr is None else [1e-4, 1e-2])
    # every parameter in exactly one group
    assert sorted(id(p) for g in groups for p in g["params"]) == sorted(id(p) for p in encoder.parameters())
    if projection_lr is not None:
        assert groups[1]["params"] == [encoder.projection.weight]
