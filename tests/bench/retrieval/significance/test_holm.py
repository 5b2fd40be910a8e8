"""Tests for bench.retrieval.significance.holm against hand-computed adjustments."""

from __future__ import annotations

import math
import re

import pytest

from bench.retrieval.significance import holm as exported
from bench.retrieval.significance.holm import holm
from daft.core.errors import UserError


def test_exported():
    assert exported is holm


@pytest.mark.parametrize(
    ("raw", "adjusted"),
    [
        # sorted 0.005*4, 0.01*3, 0.03*2, 0.04*1 = 0.02, 0.03, 0.06, 0.04 -> running max 0.02, 0.03, 0.06, 0.06
        ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),
        ([0.01, 0.02, 0.03], [0.03, 0.04, 0.04]),
        ([0.01, 0.01], [0.02, 0.02]),
        ([0.5, 0.6], [1.0, 1.0]),
        ([0.3], [0.3]),
        ([0.0, 1.0], [0.0, 1.0]),
        ([], []),
    ],
)
def test_hand_computed(raw, adjusted):
    assert holm(raw) == pytest.approx(adjusted, abs=1e-15)


def test_monotone_and_capped():
    raw = [0.2, 0.001, 0.04, 0.04, 0.9, 0.012]
    out = holm(raw)
    by_raw = sorted(range(len(raw)), key=raw.__getitem__)
    assert [out[i] for i in by_raw] == sorted(out)
    assert all(r <= p <= 1.0 for r, p in zip(raw, out, strict=True))


@pytest.mark.parametrize("bad", [[0.5, 1.2], [-0.1], [math.nan]])
def test_out_of_range(bad):
    with pytest.raises(UserError, match=rf"^p-values must be in \[0, 1\], got {re.escape(repr(bad))}$"):
        holm(bad)
