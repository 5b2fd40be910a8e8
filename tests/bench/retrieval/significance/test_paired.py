"""Tests for bench.retrieval.significance.paired on a tiny per-query table."""

from __future__ import annotations

import dataclasses
import math

import pytest

from bench.results import SystemComparison
from bench.retrieval.significance import TESTS, compare_systems, holm, paired_t_test, permutation_test
from bench.retrieval.significance.paired import TIE_TOLERANCE
from daft.core.errors import UserError

# q1 ties (within the tolerance), q2 and q4 are wins for A, q3 a loss; q4 is missing from B and q5 from A,
# so each counts 0.0 there: q5 is a loss.
TABLE = {
    "A": {
        "nDCG@10": {"q1": 0.5, "q2": 0.7, "q3": 0.2, "q4": 0.4},
        "RR@10": {"q1": 1.0, "q2": 0.5, "q3": 1.0},
    },
    "B": {"nDCG@10": {"q1": 0.5 + 1e-12, "q2": 0.6, "q3": 0.3, "q5": 0.2}, "RR@10": {"q1": 0.5, "q2": 0.5}},
    "C": {
        "nDCG@10": {"q1": 0.1, "q2": 0.2, "q3": 0.1, "q4": 0.0, "q5": 0.1},
        "RR@10": {"q1": 0.2, "q3": 0.2},
    },
}
# A and B on nDCG@10 over q1..q5, in query id order.
A_NDCG = [0.5, 0.7, 0.2, 0.4, 0.0]
B_NDCG = [0.5 + 1e-12, 0.6, 0.3, 0.0, 0.2]


def test_registry():
    assert dict(TESTS) == {"t-test": paired_t_test, "permutation": permutation_test}


def test_one_comparison():
    (c,) = compare_systems(TABLE, [("A", "B")], ["nDCG@10"])
    assert (c.system_a, c.system_b, c.measure) == ("A", "B", "nDCG@10")
    assert (c.wins, c.ties, c.losses) == (2, 1, 2)
    assert c.mean_a == pytest.approx(1.8 / 5)
    assert c.mean_b == pytest.approx((1.6 + 1e-12) / 5)
    assert c.delta == pytest.approx(c.mean_a - c.mean_b)
    assert c.p_t_test == paired_t_test(A_NDCG, B_NDCG)
    assert c.p_permutation == permutation_test(A_NDCG, B_NDCG)
    # A single comparison: Holm leaves its p-value alone.
    assert c.p_adjusted == c.p_permutation
    assert c.significant is False


def test_tie_tolerance():
    assert TIE_TOLERANCE == 1e-9
    table = {
        "A": {"m": {"q1": 0.5, "q2": 0.5, "q3": 0.5}},
        "B": {"m": {"q1": 0.5 + 5e-10, "q2": 0.5 + 2e-9, "q3": 0.5 - 2e-9}},
    }
    (c,) = compare_systems(table, [("A", "B")], ["m"])
    assert (c.wins, c.ties, c.losses) == (1, 1, 1)


@pytest.mark.parametrize(
    "a, b, outcome",
    [
        (0.5, 0.5, "tie"),  # equal
        (0.5, 0.5 + 5e-10, "tie"),  # B above, within the tolerance
        (0.5 + 5e-10, 0.5, "tie"),  # A above, within the tolerance
        (0.0, TIE_TOLERANCE, "tie"),  # B above by exactly the tolerance: still a tie
        (TIE_TOLERANCE, 0.0, "tie"),  # A above by exactly the tolerance
        (0.5 + 2e-9, 0.5, "win"),  # A above, beyond it
        (0.5, 0.5 + 2e-9, "loss"),  # B above, beyond it
    ],
)
def test_tie_tolerance_either_way_round(a: float, b: float, outcome: str):
    # A second query, an exact tie, because a paired test needs two.
    counts = {"win": (1, 1, 0), "tie": (0, 2, 0), "loss": (0, 1, 1)}
    table = {"A": {"m": {"q": a, "same": 0.25}}, "B": {"m": {"q": b, "same": 0.25}}}
    (ab,) = compare_systems(table, [("A", "B")], ["m"])
    assert (ab.wins, ab.ties, ab.losses) == counts[outcome]
    (ba,) = compare_systems(table, [("B", "A")], ["m"])  # the same query seen from B: mirrored
    assert (ba.losses, ba.ties, ba.wins) == counts[outcome]


def test_holm_across_every_comparison_of_the_call():
    pairs, measures = [("A", "B"), ("A", "C"), ("B", "C")], ["nDCG@10", "RR@10"]
    for test, field in [("t-test", "p_t_test"), ("permutation", "p_permutation")]:
        out = compare_systems(TABLE, pairs, measures, test=test)
        assert [(c.system_a, c.system_b, c.measure) for c in out] == [
            (a, b, m) for a, b in pairs for m in measures
        ]
        raw = [getattr(c, field) for c in out]
        assert [c.p_adjusted for c in out] == holm(raw)
        assert any(c.p_adjusted > getattr(c, field) for c in out)
        assert [c.significant for c in out] == [c.p_adjusted < 0.05 for c in out]


def test_significance_uses_the_adjusted_p_value():
    out = compare_systems(TABLE, [("A", "C"), ("A", "B")], ["nDCG@10"], test="t-test")
    best = min(out, key=lambda c: c.p_t_test)
    # A level between the raw and the adjusted p-value: significant before Holm, not after.
    level = (best.p_t_test + best.p_adjusted) / 2
    assert best.p_t_test < level < best.p_adjusted
    again = compare_systems(TABLE, [("A", "C"), ("A", "B")], ["nDCG@10"], test="t-test", alpha_level=level)
    assert not any(c.significant for c in again)
    assert compare_systems(TABLE, [("A", "C")], ["nDCG@10"], test="t-test", alpha_level=level)[0].significant


def test_n_resamples_and_seed_reach_the_permutation_test():
    table = {
        "A": {"m": {f"q{i:02}": i / 20 for i in range(20)}},
        "B": {"m": {f"q{i:02}": (i % 7) / 7 for i in range(20)}},
    }
    a, b = [i / 20 for i in range(20)], [(i % 7) / 7 for i in range(20)]
    (c,) = compare_systems(table, [("A", "B")], ["m"], n_resamples=500, seed=9)
    assert c.p_permutation == permutation_test(a, b, n_resamples=500, seed=9)


def test_frozen():
    (c,) = compare_systems(TABLE, [("A", "B")], ["nDCG@10"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.delta = 0.0  # type: ignore[misc]
    assert math.isnan(SystemComparison("A", "B", "m", 0.0, 0.0, 0.0, 0, 0, 0, 1.0, 1.0).p_adjusted)


@pytest.mark.parametrize(
    ("pairs", "measures", "kwargs", "message"),
    [
        ([("A", "Z")], ["nDCG@10"], {}, r"^unknown system 'Z'; known: A, B, C$"),
        ([("A", "B")], ["MAP"], {}, r"^system 'A' has no measure 'MAP'; it has: nDCG@10, RR@10$"),
        (
            [("A", "B")],
            ["nDCG@10"],
            {"test": "wilcoxon"},
            r"^unknown test 'wilcoxon'; known: t-test, permutation$",
        ),
        ([("A", "B")], ["nDCG@10"], {"alpha_level": 0}, r"^alpha_level must be in \(0, 1\), got 0$"),
        ([("A", "B")], ["nDCG@10"], {"alpha_level": 1.0}, r"^alpha_level must be in \(0, 1\), got 1.0$"),
    ],
)
def test_bad_input(pairs, measures, kwargs, message):
    with pytest.raises(UserError, match=message):
        compare_systems(TABLE, pairs, measures, **kwargs)


def test_one_query_is_too_few():
    table = {"A": {"m": {"q1": 0.5}}, "B": {"m": {"q1": 0.2}}}
    with pytest.raises(UserError, match=r"^a paired test needs at least 2 queries, got 1$"):
        compare_systems(table, [("A", "B")], ["m"])
