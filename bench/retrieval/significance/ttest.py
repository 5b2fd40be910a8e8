"""Two-sided paired t-test on per-query scores of two systems over the same queries.

Student's paired t-test, ``t = mean(d) / (std(d, ddof=1) / sqrt(n))`` on the differences d with n - 1
degrees of freedom, as computed by `scipy.stats.ttest_rel` (W. S. Gosset, "The probable error of a mean",
Biometrika 6(1), 1908). For per-query IR effectiveness it agrees closely with the randomisation test
(M. D. Smucker, J. Allan and B. Carterette, "A Comparison of Statistical Significance Tests for Information
Retrieval Evaluation", CIKM 2007).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from daft.core.errors import UserError

__all__ = ["paired_scores", "paired_t_test"]


def paired_scores(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Validate two per-query score lists for a paired test and return them as float64 arrays."""
    if len(a) != len(b):
        raise UserError(f"paired scores must have equal lengths, got {len(a)} and {len(b)}")
    if len(a) < 2:
        raise UserError(f"a paired test needs at least 2 queries, got {len(a)}")
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise UserError("paired scores contain NaN or infinite values")
    return x, y


def paired_t_test(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the paired t-test of `a` against `b` (same queries, same order)."""
    x, y = paired_scores(a, b)
    diff = x - y
    if np.all(diff == diff[0]):
        # Zero variance makes t = mean / 0: scipy answers NaN (with a warning) when every difference is 0.
        # Identical per-query scores are no evidence of a difference (p = 1); the same nonzero shift on every
        # query is the limit t -> +-inf, the strongest evidence the test can see (p = 0).
        return 1.0 if diff[0] == 0 else 0.0
    from scipy.stats import ttest_rel  # seconds to import: a suite's validation must not pay them

    return float(ttest_rel(x, y).pvalue)
