"""The fixed-index stage: the query side trains against the document encoder's vectors of the whole corpus.

What a search team has is an index it does not want to rebuild. Here the document side never changes, so its
vectors of every document are computed once (cached with the retrieval suites' entries,
`daft.search.embeddings`) and a step costs the query encoder plus one matrix product against them. That makes
affordable, on a CPU, what the other stages cannot: every training query, the whole corpus as candidates
(`[index] negatives`), and a teacher's query vectors (`daft.training.objectives.IndexObjective`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from daft.search import embeddings
from daft.training.data import Batch
from daft.training.docs import Candidates, Context


class IndexDocs:
    """The whole corpus's document vectors, fixed; a step's candidates are drawn from them."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        ctx.doc.requires_grad_(False)
        ctx.doc.eval()
        data, spec = ctx.data, ctx.recipe.index
        start = time.perf_counter()
        doc_ids, vectors, self.cache_status = embeddings.doc_embeddings(
            ctx.doc,
            data.collection,
            max_length=ctx.recipe.data.doc_max_length,
            device=str(ctx.device),
            label=f"{data.collection.name} (fixed index)",
        )
        self.row = {d: i for i, d in enumerate(doc_ids)}
        self.table = torch.from_numpy(np.array(vectors, dtype=np.float32)).to(ctx.device)
        # Validation ranks the validation corpus and estimates the KL with these same vectors: nothing more
        # is encoded on the document side.
        self.validation = np.asarray(vectors)[[self.row[d] for d in data.vset.doc_ids]]
        self.kl = np.asarray(vectors)[[self.row[d] for d in data.vset.kl_ids]]
        self.positives = {q: [self.row[d] for d in data.positives[q]] for q in data.qids}
        self.negatives, self.sampled = spec.negatives, spec.sampled_negatives
        self.seconds = time.perf_counter() - start

    def param_groups(self) -> list[dict[str, Any]]:
        """None: the index is fixed."""
        return []

    def candidates(self, batch: Batch) -> Candidates:
        """The corpus (`negatives = "corpus"`), or the batch's own documents (bm25: positives and hard
        negatives) followed by `sampled_negatives` uniform draws (sampled); every relevant document of a
        query other than its target is excluded from its row."""
        target_rows = torch.tensor([self.row[batch.doc_ids[t]] for t in batch.targets.tolist()])
        if self.negatives == "corpus":
            return Candidates(self.table, target_rows, self._exclude(batch, None, target_rows))
        rows = torch.tensor([self.row[d] for d in batch.doc_ids])
        if self.negatives == "sampled":
            # The global RNG: a resumed run restores it from the checkpoint and draws the same documents.
            rows = torch.cat([rows, torch.randint(len(self.row), (self.sampled,))])
        return Candidates(
            self.table[rows.to(self.table.device)], batch.targets, self._exclude(batch, rows, batch.targets)
        )

    def _exclude(self, batch: Batch, rows: torch.Tensor | None, targets: torch.Tensor) -> torch.Tensor:
        """[B, candidates] True where a candidate is relevant to the query but is not its target (a sampled
        draw of a query's own positive among them)."""
        width = len(self.row) if rows is None else len(rows)
        exclude = torch.zeros(len(batch.qids), width, dtype=torch.bool)
        for i, qid in enumerate(batch.qids):
            relevant = torch.tensor(self.positives[qid])
            exclude[i] = (
                torch.isin(rows, relevant) if rows is not None else exclude[i].index_fill(0, relevant, True)
            )
        exclude[torch.arange(len(batch.qids)), targets] = False
        return exclude

    def best_state(self) -> dict[str, dict[str, torch.Tensor]]:
        """Nothing: the index is fixed."""
        return {}

    def summary(self, steps: int, seconds: float) -> dict[str, Any]:
        """The index: its size, what the cache did and what it cost."""
        return {
            "index": {
                "documents": len(self.row),
                "negatives": self.negatives,
                "cache": self.cache_status,
                "index_s": self.seconds,
            }
        }
