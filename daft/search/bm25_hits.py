"""Lucene's hits of a query as Anserini's SimpleSearcher ranks them, in numpy (no Java here).

`daft.search.bm25` searches Lucene itself and hands each query's hits over as one JSON string
(`[[doc, score], ...]`, Lucene doc numbers and raw float32 scores, best first with ties by doc id); this
module reads those strings and applies what Anserini does after Lucene's search
(`ScoreTiesAdjusterReranker`), bit for bit, so that a run is identical to one from
`SimpleSearcher.batch_search`: same doc ids, same float32 scores, same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

# ScoreTiesAdjusterReranker's constants: scores rounded to 4 decimals, a tie is a gap of at most 1e-4 to the
# (adjusted) score above, and each further tie is lowered by another 1e-6 (Java float arithmetic).
_ROUND = 10_000.0
_TIE_GAP = np.float32(1e-4)
_NUDGE = np.float32(1e-6)
# A float64 exactly halfway between two adjacent (normal) float32s: of the 29 fraction bits a float32 lacks,
# only the top one set.
_EXTRA_BITS = np.uint64((1 << 29) - 1)
_HALF_BIT = np.uint64(1 << 28)


def exact_float32(tokens: Sequence[str]) -> np.ndarray:
    """Decimal strings as the float32s nearest to them, exactly (Java's Float.toString round-trips)."""
    values = np.array([float(token) for token in tokens], dtype=np.float64)
    scores = values.astype(np.float32)
    # Rounding twice (decimal to float64 to float32) differs from rounding once only where the float64 lies
    # exactly halfway between two float32s: settle those from the decimal itself.
    halfway = (values.view(np.uint64) & _EXTRA_BITS) == _HALF_BIT
    for i in np.flatnonzero(halfway):
        exact, double = Fraction(tokens[i]), Fraction(float(values[i]))
        # Rounding to even may have gone to the side of the halfway point the decimal is not on.
        if exact != double and (Fraction(float(scores[i])) > double) != (exact > double):
            scores[i] = np.nextafter(scores[i], np.float32(np.inf if exact > double else -np.inf))
    return scores


def parse_hits(text: str) -> tuple[np.ndarray, np.ndarray]:
    """A query's hits from `{"scoreDocs":[[doc,score],...]}`: Lucene doc numbers (int32), raw scores (float32)."""
    start, end = text.find("["), text.rfind("]")
    if not text.startswith('{"scoreDocs":[') or end < start:
        raise ValueError(f"unexpected hits layout: {text[:80]!r}")
    body = text[start + 1 : end].replace("[", "").replace("]", "")
    tokens = body.split(",") if body else []
    if len(tokens) % 2:
        raise ValueError(f"unexpected hits layout: {text[:80]!r}")
    docs = np.array([int(token) for token in tokens[0::2]], dtype=np.int32)
    return docs, exact_float32(tokens[1::2])


def adjust_ties(raw: np.ndarray) -> np.ndarray:
    """Anserini's `ScoreTiesAdjusterReranker` on rows of ranked raw scores (float32, best first), bit for bit.

    Each score is rounded to 4 decimals (Java's Math.round: half up); a score within 1e-4 of the adjusted
    one above it continues a run of ties and is lowered by 1e-6 per place in the run. The scan runs over
    all rows at once, column by column; padding at a row's end does not touch the columns before it.
    """
    scaled = raw.astype(np.float64) * _ROUND
    whole = np.floor(scaled)
    rounded = ((whole + (scaled - whole >= 0.5)) / _ROUND).astype(np.float32)
    adjusted = rounded.copy()
    run = np.zeros(len(raw), dtype=np.float32)
    for col in range(1, raw.shape[1]):
        # Java's `prev - cur > 1e-4f` is false for NaN too: a tie.
        tie = ~(adjusted[:, col - 1] - rounded[:, col] > _TIE_GAP)
        run = np.where(tie, run + np.float32(1), np.float32(0))
        adjusted[:, col] = np.where(tie, rounded[:, col] - _NUDGE * run, rounded[:, col])
    return adjusted


def rank_hits(
    hits: Sequence[tuple[np.ndarray, np.ndarray]], id_rank: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each query's (docs, raw scores) adjusted like Anserini and ordered by (score desc, doc id asc).

    `id_rank[doc]` is the position of Lucene doc `doc`'s id among all ids sorted as Python sorts strings.
    """
    width = max((len(docs) for docs, _ in hits), default=0)
    raw = np.zeros((len(hits), width), dtype=np.float32)
    for row, (_, scores) in enumerate(hits):
        raw[row, : len(scores)] = scores
    adjusted = adjust_ties(raw)
    ranked = []
    for row, (docs, _) in enumerate(hits):
        scores = adjusted[row, : len(docs)]
        # Adjusted ties may still be equal in float32 (a 1e-6 step is below a large score's precision).
        order = np.lexsort((id_rank[docs], -scores))
        ranked.append((docs[order], scores[order]))
    return ranked
