"""The stages a method runs, as data: what trains, how long, what picks the best weights and when to stop.

- **align** (DAFT stage 1): the document encoder is frozen and its vectors precomputed (`FrozenDocs`); only the
  query encoder (and its projection) trains. By default the stage stops at the first validation whose kNN KL
  divergence between the two encoders' embeddings of the same documents does not fall (patience 0); the
  best-KL weights are kept. `[train] align_metric` (kl | nDCG@10), `align_min_delta` (a relative margin) and
  `align_patience` change that rule.
- **finetune** (DAFT stage 2, and the whole `standard` method): both encoders train (`TrainedDocs`), with a
  fresh optimiser, early-stopped on dev nDCG@10 with `finetune_patience`; the best-nDCG weights are kept.
- **index** (the whole `fixed_index` method; the first stage of `fixed_index_finetune`): the document side is a
  fixed index of the whole corpus (`IndexDocs`), the loss adds a teacher's terms (`IndexObjective`, [index]);
  early-stopped on dev nDCG@10 with `index_patience`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from daft.training.docs import Context, DocSide, FrozenDocs, TrainedDocs
from daft.training.index import IndexDocs
from daft.training.objectives import Contrastive, IndexObjective
from daft.training.recipe import TrainSpec


@dataclass(frozen=True)
class Stage:
    """One stage of a method; the loop reads everything that differs between stages from here."""

    name: str
    docs: Callable[[Context], DocSide]  # the document side: trained, frozen, or a fixed index
    metric: str  # the validation value that picks the best weights and stops the stage
    lower_is_better: bool
    max_epochs: int
    patience: int  # validations without improvement tolerated before stopping
    # An improvement must beat the best by more than this fraction of it (0: any improvement counts). The
    # kNN-KL estimate keeps creeping down long after retrieval has stopped gaining, so a strict "did it
    # fall" never stops an align stage (docs/EXPERIMENT.md, the stopping rule).
    min_delta: float = 0.0
    objective: Callable[[Context], nn.Module] = Contrastive  # (query vectors, candidates, batch) -> loss

    def improves(self, value: float, best: float | None) -> bool:
        """Whether `value` beats the best so far by the margin (the first validation always does)."""
        if best is None:
            return True
        margin = self.min_delta * abs(best)
        return value < best - margin if self.lower_is_better else value > best + margin

    def stops(self, bad_validations: int) -> bool:
        """Whether the stage ends after `bad_validations` validations in a row without improvement: once
        more of them than `patience` tolerates (patience 1: the second in a row)."""
        return bad_validations > self.patience


def align(train: TrainSpec) -> Stage:
    """DAFT stage 1: the document side frozen; best and stop by `align_metric` (KL by default)."""
    return Stage(
        "align",
        FrozenDocs,
        train.align_metric,
        train.align_metric == "kl",
        train.align_max_epochs,
        train.align_patience,
        train.align_min_delta,
    )


def finetune(train: TrainSpec) -> Stage:
    """Stage 2 (and all of standard): both sides train; best and stop by dev nDCG@10."""
    return Stage(
        "finetune", TrainedDocs, "nDCG@10", False, train.finetune_max_epochs, train.finetune_patience
    )


def index(train: TrainSpec) -> Stage:
    """The query side alone against a fixed index of the whole corpus; best and stop by dev nDCG@10."""
    return Stage(
        "index",
        IndexDocs,
        "nDCG@10",
        False,
        train.index_max_epochs,
        train.index_patience,
        objective=IndexObjective,
    )


# zero_shot trains nothing: the pair as built is evaluated like the others (e.g. the symmetric reference).
METHOD_STAGES: dict[str, tuple[Callable[[TrainSpec], Stage], ...]] = {
    "standard": (finetune,),
    "daft": (align, finetune),
    "align_only": (align,),
    "zero_shot": (),
    "fixed_index": (index,),
    "fixed_index_finetune": (index, finetune),
}


def stages(method: str, train: TrainSpec) -> tuple[Stage, ...]:
    """The stages `method` runs, configured by the recipe's [train] table."""
    return tuple(make(train) for make in METHOD_STAGES[method])
