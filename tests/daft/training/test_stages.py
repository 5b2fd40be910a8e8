"""The stages a method runs, and the rule that picks a stage's best weights and stops it."""

from __future__ import annotations

import pytest

from daft.training.docs import FrozenDocs, TrainedDocs
from daft.training.recipe import TrainSpec
from daft.training.stages import Stage, stages


def _stage(lower: bool, min_delta: float = 0.0) -> Stage:
    return Stage("s", FrozenDocs, "m", lower, max_epochs=1, patience=0, min_delta=min_delta)


def test_any_improvement_counts_without_a_margin():
    assert _stage(lower=True).improves(9.99, 10.0) and not _stage(lower=True).improves(10.0, 10.0)
    assert _stage(lower=False).improves(0.51, 0.5) and not _stage(lower=False).improves(0.5, 0.5)
    assert _stage(lower=True).improves(123.0, None)  # the first validation is the best so far


@pytest.mark.parametrize(
    ("lower", "best", "value", "improves"),
    [
        (True, 40.0, 39.0, False),  # KL fell 2.5%: within a 5% margin
        (True, 40.0, 37.9, True),  # fell 5.25%
        (True, -20.0, -20.5, False),  # a negative KL estimate: the margin is of its size
        (True, -20.0, -21.5, True),
        (False, 0.30, 0.31, False),  # nDCG rose 3.3%
        (False, 0.30, 0.32, True),
    ],
)
def test_a_relative_margin(lower, best, value, improves):
    assert _stage(lower, min_delta=0.05).improves(value, best) is improves


@pytest.mark.parametrize("patience", [0, 1, 3])
def test_a_stage_stops_at_the_first_bad_validation_past_its_patience(patience):
    stage = Stage("s", FrozenDocs, "m", False, max_epochs=1, patience=patience)
    assert [stage.stops(bad) for bad in range(patience + 2)] == [False] * (patience + 1) + [True]


def test_methods_run_their_stages_configured_by_train():
    train = TrainSpec(align_metric="nDCG@10", align_min_delta=0.02, align_patience=2, align_max_epochs=7)
    align, finetune = stages("daft", train)
    assert (align.name, align.docs, align.metric, align.lower_is_better) == (
        "align",
        FrozenDocs,
        "nDCG@10",
        False,
    )
    assert (align.max_epochs, align.patience, align.min_delta) == (7, 2, 0.02)
    assert (finetune.name, finetune.docs, finetune.metric, finetune.lower_is_better) == (
        "finetune",
        TrainedDocs,
        "nDCG@10",
        False,
    )
    assert (finetune.patience, finetune.min_delta) == (train.finetune_patience, 0.0)
    default = stages("align_only", TrainSpec())[0]
    assert (default.metric, default.lower_is_better, default.patience, default.min_delta) == (
        "kl",
        True,
        0,
        0.0,
    )
    assert [s.name for s in stages("standard", train)] == ["finetune"] and stages("zero_shot", train) == ()
