"""Two-sided paired randomisation (permutation) test on per-query scores, statistic = mean difference.

Under the null hypothesis the two systems are exchangeable on each query, so each per-query difference is
equally likely to have either sign; the p-value is the share of the 2**n sign flips whose |mean difference|
is at least the observed one (R. A. Fisher, The Design of Experiments, Oliver & Boyd, 1935, ch. III; for IR,
M. D. Smucker, J. Allan and B. Carterette, "A Comparison of Statistical Significance Tests for Information
Retrieval Evaluation", CIKM 2007). All 2**n flips are enumerated when ``2**n <= n_resamples``; otherwise
`n_resamples` random flips are drawn and the p-value is ``(count + 1) / (n_resamples + 1)``, counting the
observed assignment as one of the draws so the estimate is never 0 and the test stays valid (B. Phipson and
G. K. Smyth, "Permutation P-values Should Never Be Zero", Stat. Appl. Genet. Mol. Biol. 9(1), 2010).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from bench.retrieval.significance.ttest import paired_scores
from daft.core.errors import UserError

__all__ = ["permutation_test"]

# Sign-matrix entries per chunk (8 MiB of float64): bounds memory whatever n and n_resamples are.
_CHUNK_ELEMENTS = 1 << 20


def _all_signs(n: int, rows: int) -> Iterator[np.ndarray]:
    """Every one of the 2**n sign vectors (bit j of the row number flips query j), `rows` at a time."""
    bits = np.arange(n)
    for start in range(0, 2**n, rows):
        codes = np.arange(start, min(start + rows, 2**n))
        yield 1.0 - 2.0 * ((codes[:, None] >> bits) & 1)


def _random_signs(n: int, n_resamples: int, rows: int, seed: int) -> Iterator[np.ndarray]:
    """`n_resamples` uniformly random sign vectors of length n, `rows` at a time."""
    rng = np.random.default_rng(seed)
    for start in range(0, n_resamples, rows):
        yield 1.0 - 2.0 * rng.integers(0, 2, size=(min(rows, n_resamples - start), n))


def permutation_test(
    a: Sequence[float], b: Sequence[float], *, n_resamples: int = 10_000, seed: int = 0
) -> float:
    """Two-sided p-value of the paired sign-flip randomisation test of `a` against `b` (same query order)."""
    x, y = paired_scores(a, b)
    if not isinstance(n_resamples, int) or n_resamples < 1:
        raise UserError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    diff = x - y
    n = diff.size
    # n is fixed, so |sum| orders the flips exactly as |mean| does and saves a division per flip.
    observed = abs(diff.sum())
    # The matrix product sums in another order than diff.sum(), so the unflipped row can come out an ulp
    # below `observed`; the same relative slack as scipy.stats.permutation_test keeps it counted.
    threshold = observed - 100 * np.finfo(np.float64).eps * observed
    rows = max(1, _CHUNK_ELEMENTS // n)
    exact = 2**n <= n_resamples
    chunks = _all_signs(n, rows) if exact else _random_signs(n, n_resamples, rows, seed)
    count = sum(int(np.count_nonzero(np.abs(signs @ diff) >= threshold)) for signs in chunks)
    return count / 2**n if exact else (count + 1) / (n_resamples + 1)
