"""Where an L0 table starts: a transformer's input embeddings, or its *output* for each token (distilled).

L0 averages one static vector per token. Its starting points, chosen by `init` / `token_weights`:
- `embeddings`: the transformer's input word-piece embeddings (cheap, but those vectors live in the input
  space, far from the pooled output space the document encoder's vectors live in);
- `distilled`: every vocabulary token passed through the transformer alone (`[CLS] t [SEP]`) and pooled the
  way the transformer pools, so each row already is an output-space vector -- the idea behind model2vec
  (Tulkens & van Dongen, 2024) and sentence-transformers' static embeddings;
- `random`: a normal table (std 0.02, as BERT initialises) of the transformer's shape; only the tokenizer is
  shared, the control for collapse (nothing ties the query side to the document encoder's space);
- `token_weights = "idf"`: each row scaled by the token's inverse document frequency in a corpus (BM25's
  idf, Robertson & Zaragoza 2009), so that a mean over a query's tokens is dominated by its rare, informative
  tokens (model2vec weights by a Zipf estimate of frequency for the same reason; a corpus gives the real one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from daft.core.progress import progress

if TYPE_CHECKING:
    from torch import Tensor

INITS = ("embeddings", "distilled", "random")
TOKEN_WEIGHTS = ("none", "idf")


def distilled_table(encoder: Any, *, batch_size: int = 1024) -> Tensor:
    """One row per vocabulary id: `encoder`'s pooled output for `[CLS] id [SEP]` (its projection excluded).

    `encoder` is a `daft.models.encoders.TransformerEncoder`; special tokens get the same treatment as the
    rest (an L0 never looks them up, since it tokenises without them).
    """
    import torch  # here, not at the top: a recipe is validated (INITS, TOKEN_WEIGHTS) without torch

    tokenizer = encoder.tokenizer
    vocab = len(tokenizer)
    first, last = tokenizer.cls_token_id, tokenizer.sep_token_id
    rows = torch.empty(vocab, encoder.hidden_size)
    was_training = encoder.training
    encoder.eval()
    # no_grad, not inference_mode: the rows become a trainable Parameter.
    with torch.no_grad(), progress() as bar:
        task = bar.add_task("distil the L0 table", total=vocab)
        for start in range(0, vocab, batch_size):
            ids = torch.arange(start, min(start + batch_size, vocab)).unsqueeze(1)
            n = ids.shape[0]
            columns = [ids] if first is None else [torch.full((n, 1), first), ids]
            columns += [] if last is None else [torch.full((n, 1), last)]
            input_ids = torch.cat(columns, dim=1)
            features = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
            if "token_type_ids" in encoder.input_names:
                features["token_type_ids"] = torch.zeros_like(input_ids)
            rows[start : start + n] = encoder.pool(**features).float()
            bar.advance(task, n)
    encoder.train(was_training)
    return rows


def idf_weights(tokenizer: Any, texts: Iterable[str], *, batch_size: int = 4096) -> Tensor:
    """BM25's idf per vocabulary id over `texts` (one document each): log(1 + (N - df + 0.5) / (df + 0.5)).

    A token that never occurs gets the largest weight, as BM25 would give it.
    """
    import torch

    df = np.zeros(len(tokenizer), dtype=np.int64)
    n = 0
    batch: list[str] = []

    def count(batch: list[str]) -> None:
        for ids in tokenizer(batch, add_special_tokens=False)["input_ids"]:
            df[np.unique(np.asarray(ids, dtype=np.int64))] += 1

    for text in texts:
        batch.append(text)
        n += 1
        if len(batch) == batch_size:
            count(batch)
            batch = []
    if batch:
        count(batch)
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    return torch.from_numpy(idf.astype(np.float32))


def corpus_texts(collection: str) -> list[str]:
    """The full texts (title and body) of a collection's corpus, by reference (a built-in name or a folder)."""
    from daft.collections.registry import load

    return [doc.full_text for doc in load(collection).corpus.values()]


__all__ = ["INITS", "TOKEN_WEIGHTS", "corpus_texts", "distilled_table", "idf_weights"]
