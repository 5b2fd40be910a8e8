"""Tests for bench.retrieval.significance.permutation: brute force, scipy agreement, estimator, checks."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats as sps

from bench.retrieval.significance import permutation
from bench.retrieval.significance.permutation import permutation_test
from daft.core.errors import UserError

# Dyadic values: every per-query difference and every flipped sum is exact in binary floating point.
A = [0.75, 0.5, 1.0, 0.25, 0.875, 0.5]
B = [0.5, 1.0, 0.875, 0.0, 0.125, 0.625]


def _brute_force(a, b):
    """Share of the 2**n sign flips with |sum of differences| (n fixed: |mean|) >= the observed, computed exactly."""
    diff = [Fraction(x - y) for x, y in zip(a, b, strict=True)]
    observed = abs(sum(diff))
    flips = list(itertools.product((-1, 1), repeat=len(diff)))
    hits = sum(abs(sum(s * d for s, d in zip(signs, diff, strict=True))) >= observed for signs in flips)
    return hits / len(flips)


def test_exact_equals_brute_force():
    expected = _brute_force(A, B)
    assert 0.0 < expected < 1.0
    # 2**6 = 64 <= n_resamples: enumeration, so the seed plays no part.
    for seed in range(3):
        assert permutation_test(A, B, n_resamples=64, seed=seed) == expected
    assert permutation_test(A, B) == expected


def test_exact_on_non_dyadic_scores():
    # With this sample the float sums of the unflipped and fully flipped rows can round an ulp below the
    # observed |sum|; the exact reference still counts both.
    rng = np.random.default_rng(3)
    a, b = rng.random(10), rng.random(10)
    assert permutation_test(a, b) == _brute_force(a.tolist(), b.tolist())


def test_exact_in_small_chunks(monkeypatch):
    # 7 entries per chunk = one sign vector per chunk: every chunk boundary is crossed.
    monkeypatch.setattr(permutation, "_CHUNK_ELEMENTS", 7)
    assert permutation_test(A, B) == _brute_force(A, B)


def _sample(n=30):
    rng = np.random.default_rng(7)
    a = rng.random(n)
    return a, a - 0.04 + rng.normal(0.0, 0.2, n)


def test_monte_carlo_agrees_with_scipy():
    a, b = _sample()
    reference = sps.permutation_test(
        (a, b),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        vectorized=True,
        permutation_type="samples",
        alternative="two-sided",
        n_resamples=100_000,
        random_state=0,
    ).pvalue
    assert 0.05 < reference < 0.95  # a sample where the comparison means something
    assert permutation_test(a, b, n_resamples=100_000) == pytest.approx(reference, abs=0.01)


def test_monte_carlo_is_reproducible_and_seeded():
    a, b = _sample()
    assert permutation_test(a, b, n_resamples=2000, seed=3) == permutation_test(
        a, b, n_resamples=2000, seed=3
    )
    assert permutation_test(a, b, n_resamples=2000, seed=3) != permutation_test(
        a, b, n_resamples=2000, seed=4
    )


def test_monte_carlo_estimator_is_never_zero():
    # Only the all-plus and all-minus flips reach the observed |sum|; 1000 draws from 2**30 miss them.
    p = permutation_test(np.ones(30), np.zeros(30), n_resamples=1000)
    assert p == 1 / 1001


def test_monte_carlo_estimator_has_the_plus_one_form():
    a, b = _sample()
    p = permutation_test(a, b, n_resamples=999)
    assert p * 1000 == pytest.approx(round(p * 1000), abs=1e-9)


@pytest.mark.parametrize("n_resamples", [10, 10_000])
def test_identical_scores_give_p_one(n_resamples):
    a = np.linspace(0.0, 1.0, 20)
    assert permutation_test(a, a, n_resamples=n_resamples) == 1.0


@pytest.mark.parametrize("n_resamples", [0, -5, 2.5])
def test_bad_n_resamples(n_resamples):
    with pytest.raises(UserError, match=rf"^n_resamples must be a positive integer, got {n_resamples!r}$"):
        permutation_test(A, B, n_resamples=n_resamples)


def test_bad_scores():
    with pytest.raises(UserError, match=r"^paired scores must have equal lengths, got 6 and 5$"):
        permutation_test(A, B[:5])
