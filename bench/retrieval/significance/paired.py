"""Pairwise comparison of systems on per-query measures: means, wins/ties/losses, tests, Holm correction.

Each (pair, measure) is compared on the union of the queries either system has a value for; a query missing
from one system counts 0.0 for it: trec_eval's ``-c`` convention ("missing queries will contribute a value
of 0 to all evaluation measures", usnistgov/trec_eval), i.e. a query for which the system retrieved nothing
relevant. Wins, ties and losses count queries where A is above, within `TIE_TOLERANCE` of, or below B.
Both the paired t-test and the randomisation test are reported; the p-values of the one named by `test`
are Holm-corrected across every comparison of the call (S. Holm, Scand. J. Statist. 6(2), 1979; see
`bench.retrieval.significance.holm`), and a comparison is significant when its adjusted p < `alpha_level`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TypeAlias

import numpy as np

from bench.results import SystemComparison
from bench.retrieval.runs import check_choice
from bench.retrieval.significance.holm import holm
from bench.retrieval.significance.permutation import permutation_test
from bench.retrieval.significance.ttest import paired_t_test
from daft.core.errors import UserError

__all__ = ["TIE_TOLERANCE", "SystemValues", "compare_systems"]

# Per-query differences within this are ties: measures read back from text files differ in the last digits.
TIE_TOLERANCE = 1e-9

# system -> measure -> query id -> value.
SystemValues: TypeAlias = Mapping[str, Mapping[str, Mapping[str, float]]]

# Which SystemComparison field holds the p-value of each test that can be Holm-corrected.
_P_FIELDS = {"t-test": "p_t_test", "permutation": "p_permutation"}


def _values(per_query: SystemValues, system: str, measure: str) -> Mapping[str, float]:
    """One system's per-query values of one measure, or a UserError naming what is missing."""
    check_choice("system", system, list(per_query))
    if measure not in per_query[system]:
        raise UserError(
            f"system {system!r} has no measure {measure!r}; it has: {', '.join(per_query[system])}"
        )
    return per_query[system][measure]


def _compare(
    per_query: SystemValues,
    system_a: str,
    system_b: str,
    measure: str,
    n_resamples: int,
    seed: int,
) -> SystemComparison:
    """One comparison, before the Holm step."""
    values_a, values_b = _values(per_query, system_a, measure), _values(per_query, system_b, measure)
    # Sorted so that the Monte Carlo p-value does not depend on the order the queries were read in.
    qids = sorted(values_a.keys() | values_b.keys())
    a = np.array([values_a.get(qid, 0.0) for qid in qids], dtype=np.float64)
    b = np.array([values_b.get(qid, 0.0) for qid in qids], dtype=np.float64)
    diff = a - b
    return SystemComparison(
        system_a=system_a,
        system_b=system_b,
        measure=measure,
        mean_a=float(a.mean()),
        mean_b=float(b.mean()),
        delta=float(a.mean() - b.mean()),
        wins=int(np.count_nonzero(diff > TIE_TOLERANCE)),
        ties=int(np.count_nonzero(np.abs(diff) <= TIE_TOLERANCE)),
        losses=int(np.count_nonzero(diff < -TIE_TOLERANCE)),
        p_t_test=paired_t_test(a, b),
        p_permutation=permutation_test(a, b, n_resamples=n_resamples, seed=seed),
    )


def compare_systems(
    per_query: SystemValues,
    pairs: Sequence[tuple[str, str]],
    measures: Sequence[str],
    *,
    alpha_level: float = 0.05,
    test: str = "permutation",
    n_resamples: int = 10_000,
    seed: int = 0,
) -> list[SystemComparison]:
    """Compare each pair on each measure (system -> measure -> qid -> value), Holm-correcting `test`'s p-values."""
    check_choice("test", test, list(_P_FIELDS))
    if not 0.0 < alpha_level < 1.0:
        raise UserError(f"alpha_level must be in (0, 1), got {alpha_level!r}")
    raw = [_compare(per_query, a, b, m, n_resamples, seed) for a, b in pairs for m in measures]
    adjusted = holm([getattr(c, _P_FIELDS[test]) for c in raw])
    return [
        dataclasses.replace(c, p_adjusted=p, significant=p < alpha_level)
        for c, p in zip(raw, adjusted, strict=True)
    ]
