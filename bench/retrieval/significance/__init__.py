"""Significance of differences between retrieval systems: paired tests, Holm correction, comparisons."""

from __future__ import annotations

from bench.retrieval.significance.holm import holm
from bench.retrieval.significance.paired import compare_systems
from bench.retrieval.significance.permutation import permutation_test
from bench.retrieval.significance.ttest import paired_t_test

__all__ = ["TESTS", "compare_systems", "holm", "paired_t_test", "permutation_test"]

TESTS = {"t-test": paired_t_test, "permutation": permutation_test}
