"""Embeddings must be finite: NaN or inf rows mean corrupt or overflowing weights, never a result."""

from __future__ import annotations

import numpy as np

from daft.core.errors import UserError


def require_finite(vectors: np.ndarray, source: str) -> np.ndarray:
    """`vectors` unchanged, or a UserError when any row holds NaN or inf (corrupt or overflowing weights).

    Such rows would otherwise flow silently into latency parity, retrieval scores and reports.
    """
    bad = ~np.isfinite(vectors).reshape(len(vectors), -1).all(axis=1) if vectors.size else np.zeros(0, bool)
    if bad.any():
        raise UserError(
            f"{source}: {int(bad.sum())} of {len(vectors)} embeddings contain NaN or inf; the encoder's "
            "weights are corrupt or overflow (a trained pair or model folder: its weights files; a cached "
            "model asset: python -m daft assets verify --repair)"
        )
    return vectors
