"""Holm-Bonferroni step-down adjustment of p-values for a family of tests.

S. Holm, "A Simple Sequentially Rejective Multiple Test Procedure", Scandinavian Journal of Statistics
6(2), 65-70, 1979. With the m p-values sorted ascending, ``p_(1) <= ... <= p_(m)``, the adjusted value is
``max over j <= i of min(1, (m - j + 1) * p_(j))``: rejecting where it is below alpha controls the
family-wise error rate at alpha under any dependence, and is never less powerful than Bonferroni.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from daft.core.errors import UserError

__all__ = ["holm"]


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, monotone in the raw ones, capped at 1, in the input order."""
    p = np.asarray(p_values, dtype=np.float64).reshape(-1)
    if not np.all((p >= 0) & (p <= 1)):
        raise UserError(f"p-values must be in [0, 1], got {list(p_values)!r}")
    m = p.size
    # A stable sort gives tied p-values the multipliers in input order; the running max then equalises them.
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return adjusted.tolist()
