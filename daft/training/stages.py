"""The stages a method runs, as data: what trains, how long, what picks the best weights and when to stop.

- **align** (DAFT stage 1): the document encoder is frozen and its vectors precomputed (`FrozenDocs`); only the
  query encoder (and its projection) trains. The stage stops at the first validation whose kNN KL divergence
  between the two encoders' embeddings of the same documents does not fall (patience 0); the best-KL weights
  are kept.
- **finetune** (DAFT stage 2, and the whole `standard` method): both encoders train (`TrainedDocs`), with a
  fresh optimiser, early-stopped on dev nDCG@10 with `finetune_patience`; the best-nDCG weights are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from daft.recipe import TrainSpec
from daft.training.docs import Context, DocSide, FrozenDocs, TrainedDocs


@dataclass(frozen=True)
class Stage:
    """One stage of a method; the loop reads everything that differs between stages from here."""

    name: str
    docs: Callable[[Context], DocSide]  # the document side: trained or frozen
    metric: str  # the validation value that picks the best weights and stops the stage
    lower_is_better: bool
    max_epochs: Callable[[TrainSpec], int]
    patience: Callable[[TrainSpec], int]  # validations without improvement tolerated before stopping

    def improves(self, value: float, best: float | None) -> bool:
        """Whether `value` beats the best so far (the first validation always does)."""
        return best is None or (value < best if self.lower_is_better else value > best)


ALIGN = Stage("align", FrozenDocs, "kl", True, lambda t: t.align_max_epochs, lambda t: 0)
FINETUNE = Stage(
    "finetune", TrainedDocs, "nDCG@10", False, lambda t: t.finetune_max_epochs, lambda t: t.finetune_patience
)
# zero_shot trains nothing: the pair as built is evaluated like the others (e.g. the symmetric reference).
STAGES: dict[str, tuple[Stage, ...]] = {
    "standard": (FINETUNE,),
    "daft": (ALIGN, FINETUNE),
    "align_only": (ALIGN,),
    "zero_shot": (),
}
