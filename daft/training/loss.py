"""Contrastive loss for dual encoders: scaled cosine scores, in-batch and hard negatives, two normalisations.

The scores are `scale * cos(q_i, d_j)` for every query `i` and every document `j` of the batch, as in
DPR (Karpukhin et al., 2020, "Dense Passage Retrieval for Open-Domain Question Answering", EMNLP) and the
Sentence-Transformers MultipleNegativesRankingLoss (Henderson et al., 2017, arXiv 1705.00652). `scale`
is the inverse temperature; the DAFT authors' code calls it `temperature` and multiplies by 20.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from daft.core.errors import UserError
from daft.training.recipe import NORMALIZATIONS  # the recipe owns the names: it is read without torch


def _check_hyperparameters(scale: float, normalization: str) -> None:
    """UserError for a configuration value the loss cannot use."""
    if normalization not in NORMALIZATIONS:
        raise UserError(f"unknown loss normalization {normalization!r}; known: {', '.join(NORMALIZATIONS)}")
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise UserError(f"loss scale must be a positive finite number, got {scale!r}")


def _check_batch(queries: Tensor, docs: Tensor, targets: Tensor, exclude: Tensor | None) -> None:
    """ValueError for tensors that do not fit together (a bug in the caller, not a user mistake)."""
    if queries.dim() != 2 or docs.dim() != 2:
        raise ValueError(
            f"queries and docs must be 2-D, got shapes {tuple(queries.shape)} and {tuple(docs.shape)}"
        )
    if queries.shape[1] != docs.shape[1]:
        raise ValueError(f"query dim {queries.shape[1]} != doc dim {docs.shape[1]}")
    if queries.shape[0] == 0 or docs.shape[0] == 0:
        raise ValueError("the batch needs at least one query and one document")
    if targets.shape != (queries.shape[0],):
        raise ValueError(f"targets must have shape ({queries.shape[0]},), got {tuple(targets.shape)}")
    if targets.dtype.is_floating_point or targets.dtype == torch.bool or targets.is_complex():
        raise ValueError(f"targets must be an integer tensor, got {targets.dtype}")
    # One host sync per step; an out-of-range index would otherwise be a device-side assert on CUDA.
    outside = (targets < 0) | (targets >= docs.shape[0])
    if bool(outside.any()):
        raise ValueError(
            f"targets must index the {docs.shape[0]} documents, got {targets[outside].tolist()[:5]}"
        )
    if exclude is not None:
        if exclude.dtype != torch.bool or exclude.shape != (queries.shape[0], docs.shape[0]):
            raise ValueError(
                f"exclude must be a bool tensor of shape {(queries.shape[0], docs.shape[0])}, "
                f"got {exclude.dtype} {tuple(exclude.shape)}"
            )
        hit = exclude[torch.arange(targets.shape[0], device=exclude.device), targets.to(exclude.device)]
        if bool(hit.any()):
            rows = hit.nonzero().flatten().tolist()
            raise ValueError(f"exclude masks the target document of queries {rows}; never mask a target")


def cosine_scores(queries: Tensor, docs: Tensor, scale: float) -> Tensor:
    """scale * cos(q_i, d_j) as a [B, N] matrix in at least float32, autocast or not."""
    dtype = torch.promote_types(torch.promote_types(queries.dtype, docs.dtype), torch.float32)
    # Under autocast this matmul would run in fp16/bf16: ~3 significant digits, so errors of ~0.05 on
    # scores at scale 20. It is tiny next to the encoders, so it always runs in full precision.
    with torch.autocast(queries.device.type, enabled=False):
        return scale * (F.normalize(queries.to(dtype), dim=-1) @ F.normalize(docs.to(dtype), dim=-1).T)


def contrastive_loss(
    queries: Tensor,
    docs: Tensor,
    targets: Tensor,
    *,
    scale: float = 20.0,
    normalization: str = "row",
    exclude: Tensor | None = None,
) -> Tensor:
    """Scalar contrastive loss of `scale`-scaled cosine scores (queries [B, d], docs [N, d], targets [B]).

    `docs` holds every document of the batch (all positives and hard negatives, deduplicated), and
    `targets[i]` is the row of query i's positive in `docs`; two queries may share a positive. Every
    other document is a negative for query i, except where `exclude[i, j]` is True: a document that is
    also relevant to query i but is not its target gets score -inf, so it is neither pushed up nor down.
    Masking a target raises ValueError. Inputs need not be unit-norm: they are normalised here.
    `scores_loss` is the same loss on scores already computed.
    """
    _check_hyperparameters(scale, normalization)
    _check_batch(queries, docs, targets, exclude)
    return scores_loss(
        cosine_scores(queries, docs, scale), targets, normalization=normalization, exclude=exclude
    )


def scores_loss(
    scores: Tensor, targets: Tensor, *, normalization: str = "row", exclude: Tensor | None = None
) -> Tensor:
    """The contrastive loss of a [B, N] score matrix (see `contrastive_loss`), by its normalisation.

    normalization="row" (DPR; Sentence-Transformers MultipleNegativesRankingLoss): the mean over queries
    of the cross-entropy of row i against targets[i],
        loss = -1/B sum_i log( exp(s_i,t_i) / sum_j exp(s_i,j) ).
    Its minimum is 0, reached when every positive beats every negative of its own row by a wide margin.

    normalization="matrix" (the DAFT authors' code, mrjleo/dual-encoders `DualEncoder.training_step`):
    one softmax over the whole flattened B x N score matrix,
        loss = -1/B sum_i log( exp(s_i,t_i) / sum_k sum_j exp(s_k,j) ).
    The gradient on a score s_k,j is softmax_flat(s)_k,j - [j = t_k]/B. So besides the usual negatives,
    the other queries' positives s_k,t_k (k != i) sit in every target's denominator: they are pushed down
    whenever their share of the total mass exceeds 1/B, and queries compete for mass across rows (a query
    whose positive already scores high takes mass that the others must win back). With all negatives at
    zero mass the B target entries share the mass, at best evenly, so the minimum is log(B), not 0: the
    loss value grows with log(B) and is not comparable across batch sizes (or with "row").
    """
    targets = targets.long().to(scores.device)
    if exclude is not None:
        # -inf, not a large negative: exp(-inf) is exactly 0 and its gradient exactly 0, in any dtype.
        scores = scores.masked_fill(exclude.to(scores.device), float("-inf"))
    if normalization == "row":
        return F.cross_entropy(scores, targets)
    n_docs = scores.shape[1]
    flat = torch.log_softmax(scores.flatten(), dim=0)
    positions = torch.arange(scores.shape[0], device=scores.device) * n_docs + targets
    return -flat[positions].mean()


def listwise_kl(student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
    """KL(teacher || student) of the two softmax distributions over the same candidates, per query, then the
    mean over queries: listwise distillation of a teacher's ranking (as in Hofstaetter et al., 2021,
    "Efficiently Teaching an Effective Dense Retriever with Balanced Topic Aware Sampling", SIGIR, and the
    KL loss of sentence-transformers' DistillKLDivLoss)."""
    return F.kl_div(
        torch.log_softmax(student_scores, dim=-1),
        torch.log_softmax(teacher_scores.detach(), dim=-1),
        log_target=True,
        reduction="batchmean",
    )


class ContrastiveLoss(nn.Module):
    """`contrastive_loss` with its hyperparameters, plus dropout on the encoder output vectors in training."""

    def __init__(self, scale: float = 20.0, normalization: str = "row", dropout: float = 0.1):
        super().__init__()
        _check_hyperparameters(scale, normalization)
        if not (isinstance(dropout, int | float) and 0.0 <= dropout < 1.0):
            raise UserError(f"loss dropout must be in [0, 1), got {dropout!r}")
        self.scale = float(scale)
        self.normalization = normalization
        # The recipe (and the authors' code) drops 10% of the output vector's features during training;
        # it lives here, not in the encoders, so exported/eval encoders never carry it. The 1/(1-p)
        # rescaling of nn.Dropout is harmless because the scores are cosines.
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, queries: Tensor, docs: Tensor, targets: Tensor, exclude: Tensor | None = None
    ) -> Tensor:
        """Scalar loss; dropout (independent masks for queries and docs) only in training mode."""
        return contrastive_loss(
            self.dropout(queries),
            self.dropout(docs),
            targets,
            scale=self.scale,
            normalization=self.normalization,
            exclude=exclude,
        )

    def extra_repr(self) -> str:
        """Shown by print(module)."""
        return f"scale={self.scale}, normalization={self.normalization!r}"
