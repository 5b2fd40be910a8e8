"""Tests for bench.retrieval.significance.ttest: agreement with scipy, degenerate cases, input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from bench.retrieval.significance.ttest import paired_t_test
from daft.core.errors import UserError

A = [0.5, 0.3, 0.8, 0.1, 0.6, 0.4, 0.9, 0.2]
B = [0.4, 0.35, 0.6, 0.2, 0.3, 0.1, 0.7, 0.25]


def test_matches_scipy_ttest_rel():
    assert paired_t_test(A, B) == sps.ttest_rel(A, B).pvalue
    assert paired_t_test(A[:3], B[:3]) == sps.ttest_rel(A[:3], B[:3]).pvalue


def test_two_sided_and_symmetric():
    assert paired_t_test(A, B) == pytest.approx(paired_t_test(B, A), rel=1e-12)
    assert 0.0 < paired_t_test(A, B) < 1.0


def test_identical_scores_give_p_one():
    # scipy gives NaN here.
    assert paired_t_test(A, A) == 1.0


def test_constant_nonzero_shift_gives_p_zero():
    assert paired_t_test([1.0, 2.0, 3.0], [0.0, 1.0, 2.0]) == 0.0
    assert paired_t_test([0.0, 1.0, 2.0], [1.0, 2.0, 3.0]) == 0.0


def test_accepts_numpy_arrays():
    assert paired_t_test(np.array(A), np.array(B)) == paired_t_test(A, B)


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ([0.1, 0.2, 0.3], [0.1, 0.2], r"^paired scores must have equal lengths, got 3 and 2$"),
        ([0.1], [0.2], r"^a paired test needs at least 2 queries, got 1$"),
        ([], [], r"^a paired test needs at least 2 queries, got 0$"),
        ([0.1, math.nan], [0.2, 0.3], r"^paired scores contain NaN or infinite values$"),
        ([0.1, 0.2], [0.2, math.inf], r"^paired scores contain NaN or infinite values$"),
    ],
)
def test_bad_input(a, b, message):
    with pytest.raises(UserError, match=message):
        paired_t_test(a, b)
