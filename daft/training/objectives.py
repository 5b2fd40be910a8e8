"""What a stage minimises: the contrastive loss (align, finetune), or that plus a teacher's terms (index).

An objective takes the step's query vectors, the document side's candidates and the batch, and returns the
scalar loss; the loop calls it without knowing which one it is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from daft.core.errors import UserError
from daft.core.progress import console
from daft.models.build import build
from daft.training.data import Batch
from daft.training.docs import Candidates, Context
from daft.training.loss import ContrastiveLoss, cosine_scores, listwise_kl, scores_loss


class Contrastive(nn.Module):
    """The contrastive loss of [loss] over the batch's candidates (output dropout on both sides)."""

    def __init__(self, ctx: Context):
        super().__init__()
        spec = ctx.recipe.loss
        self.loss = ContrastiveLoss(scale=spec.scale, normalization=spec.normalization, dropout=spec.dropout)

    def forward(self, queries: torch.Tensor, candidates: Candidates, batch: Batch) -> torch.Tensor:
        """Scalar loss."""
        return self.loss(
            queries, candidates.vectors.float(), candidates.targets, candidates.exclude.to(queries.device)
        )


class IndexObjective(nn.Module):
    """The fixed-index stage's loss: contrastive over the index's candidates, plus the teacher's terms.

    loss = CE(scale * cos(q, candidates), target)
         + cosine_weight * (1 - cos(q, t))
         + listwise_weight * KL(softmax(scale * cos(t, candidates)) || softmax(scale * cos(q, candidates)))
    where t is the teacher's vector of the same query ([index] teacher: the document encoder itself, a
    [teacher] encoder, or none). Output dropout applies to the query side only: the index is fixed.
    """

    def __init__(self, ctx: Context):
        super().__init__()
        spec, loss = ctx.recipe.index, ctx.recipe.loss
        self.scale, self.normalization = loss.scale, loss.normalization
        self.dropout = nn.Dropout(loss.dropout)
        self.cosine_weight, self.listwise_weight = spec.cosine_weight, spec.listwise_weight
        self.teacher = None if spec.teacher == "none" else teacher_vectors(ctx)
        self.row = {q: i for i, q in enumerate(ctx.data.qids)}

    def forward(self, queries: torch.Tensor, candidates: Candidates, batch: Batch) -> torch.Tensor:
        """Scalar loss."""
        docs = candidates.vectors
        scores = cosine_scores(self.dropout(queries), docs, self.scale)
        loss = scores_loss(
            scores,
            candidates.targets,
            normalization=self.normalization,
            exclude=candidates.exclude.to(scores.device),
        )
        if self.teacher is None:
            return loss
        taught = self.teacher[torch.tensor([self.row[q] for q in batch.qids])].to(queries.device)
        if self.cosine_weight:
            loss = loss + self.cosine_weight * (1 - F.cosine_similarity(queries, taught)).mean()
        if self.listwise_weight:
            loss = loss + self.listwise_weight * listwise_kl(scores, cosine_scores(taught, docs, self.scale))
        return loss


def teacher_vectors(ctx: Context) -> torch.Tensor:
    """The teacher's L2-normalised vectors of every training query, rows in `ctx.data.qids` order, computed
    once: the document encoder on the queries ([index] teacher = "doc"), or the [teacher] encoder."""
    recipe = ctx.recipe
    teacher = ctx.doc if recipe.index.teacher == "doc" else build(recipe.teacher_spec()).to(ctx.device)
    source = "document encoder" if teacher is ctx.doc else "[teacher] encoder"
    if teacher.dim != ctx.doc.dim:
        raise UserError(
            f"{recipe.path}: [teacher]: the teacher gives {teacher.dim}-d vectors, the index {ctx.doc.dim}-d"
        )
    texts = [ctx.data.queries[q] for q in ctx.data.qids]
    with console.status(f"teacher: the {source} encodes {len(texts):,} training queries once"):
        vectors = teacher.encode(texts, max_length=recipe.data.query_max_length, device=str(ctx.device))
    return torch.from_numpy(vectors)
