"""The document side of a stage: trained with the query side (finetune), frozen and precomputed (align), or a
fixed index of the whole corpus (`daft.training.index.IndexDocs`, the fixed-index stage).

Each gives a step its candidates (document vectors, each query's target among them, exclusions), the
optimiser its parameter groups, validation its precomputed vectors (if any) and the best checkpoint the
weights it must keep; the loop asks, never branches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from daft.core import distributed
from daft.core.progress import console
from daft.models.encoders import Encoder
from daft.training.data import Batch, TrainingData, batches
from daft.training.optim import param_groups
from daft.training.recipe import Recipe
from daft.training.runtime import features, raw_vectors


@dataclass(frozen=True)
class Candidates:
    """What a step's queries are scored against: document vectors [N, d], each query's target row [B], and
    the rows that are relevant to a query without being its target [B, N] (neither positive nor negative)."""

    vectors: torch.Tensor
    targets: torch.Tensor
    exclude: torch.Tensor


@dataclass
class Context:
    """What a document side works with: the encoder, the data and where it runs."""

    doc: Encoder
    data: TrainingData
    recipe: Recipe
    device: torch.device
    cast: Any  # the autocast context
    world: distributed.World

    def texts(self, doc_ids: list[str]) -> list[str]:
        """The full texts of `doc_ids`."""
        return [self.data.collection.corpus[d].full_text for d in doc_ids]


class DocSide(Protocol):
    """What the loop asks of a stage's document side."""

    validation: Any  # precomputed vectors of the validation documents, or None to encode them afresh
    kl: Any  # precomputed vectors of the KL documents, or None

    def param_groups(self) -> list[dict[str, Any]]: ...

    def candidates(self, batch: Batch) -> Candidates: ...

    def best_state(self) -> dict[str, dict[str, torch.Tensor]]: ...

    def summary(self, steps: int, seconds: float) -> dict[str, Any]: ...


class TrainedDocs:
    """The document encoder trains: each step encodes its batch's documents (through DDP when distributed)."""

    validation: Any = None  # validation encodes the documents afresh each time
    kl: Any = None

    def __init__(self, ctx: Context):
        self.ctx = ctx
        ctx.doc.requires_grad_(True)
        self.model = distributed.wrap(ctx.doc, ctx.world)

    def param_groups(self) -> list[dict[str, Any]]:
        """The document encoder's AdamW groups."""
        return param_groups(self.ctx.doc, self.ctx.recipe.doc_encoder)

    def candidates(self, batch: Batch) -> Candidates:
        """The batch's documents, encoded with gradients."""
        ctx = self.ctx
        ctx.doc.train()
        vectors = self.model(
            **features(ctx.doc, ctx.texts(batch.doc_ids), ctx.recipe.data.doc_max_length, ctx.device)
        )
        return Candidates(vectors, batch.targets, batch.exclude)

    def best_state(self) -> dict[str, dict[str, torch.Tensor]]:
        """The weights a best checkpoint keeps of this side."""
        return {"doc": cpu_state(self.ctx.doc)}

    def summary(self, steps: int, seconds: float) -> dict[str, Any]:
        """Nothing to add to the stage's summary."""
        return {}


class FrozenDocs:
    """The document encoder is frozen: every document the stage needs is encoded once, then looked up."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        ctx.doc.requires_grad_(False)
        start = time.perf_counter()
        data = ctx.data
        needed = sorted({d for q in data.qids for d in data.positives[q] + data.negatives[q]})
        texts = ctx.texts(needed)
        ctx.doc.eval()
        with console.status(
            f"encoding {len(texts) + len(data.vset.doc_texts):,} documents once (frozen doc encoder)"
        ):
            self.table = raw_vectors(ctx.doc, texts, ctx.recipe.data.doc_max_length, ctx.device, ctx.cast)
            self.validation = ctx.doc.encode(list(data.vset.doc_texts), device=str(ctx.device))
            self.kl = ctx.doc.encode(list(data.vset.kl_texts), device=str(ctx.device))
        self.index = {d: i for i, d in enumerate(needed)}
        self.seconds = time.perf_counter() - start

    def param_groups(self) -> list[dict[str, Any]]:
        """None: nothing on this side trains."""
        return []

    def candidates(self, batch: Batch) -> Candidates:
        """The batch's documents, their precomputed vectors."""
        vectors = self.table[torch.tensor([self.index[d] for d in batch.doc_ids])].to(self.ctx.device)
        return Candidates(vectors, batch.targets, batch.exclude)

    def best_state(self) -> dict[str, dict[str, torch.Tensor]]:
        """Nothing: the weights cannot change."""
        return {}

    def summary(self, steps: int, seconds: float) -> dict[str, Any]:
        """Measured: the one-off precompute vs encoding each step's documents on the fly (3 steps sampled)."""
        ctx = self.ctx
        sample = list(batches(ctx.data, ctx.recipe.recipe.seed, "probe", 0, ctx.recipe.train.batch_size, 3))
        start = time.perf_counter()
        for batch in sample:
            raw_vectors(
                ctx.doc, ctx.texts(batch.doc_ids), ctx.recipe.data.doc_max_length, ctx.device, ctx.cast
            )
        per_step = (time.perf_counter() - start) / len(sample)
        with_table = seconds + self.seconds
        without = seconds + per_step * steps
        return {
            "doc_precompute": {
                "precompute_s": self.seconds,
                "doc_encode_s_per_step": per_step,
                "stage_s_with_precompute": with_table,
                "stage_s_estimated_without": without,
                "speedup": without / with_table if with_table else float("nan"),
            }
        }


def cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of `module`'s state dict."""
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
