"""Tests for bench.retrieval.fusion.interpolation against hand-computed fused scores."""

from __future__ import annotations

import math

import pytest

from bench.retrieval import fusion
from bench.retrieval.fusion.interpolation import CANDIDATES, MISSING_POLICIES, interpolate
from bench.retrieval.runs import compact
from daft.core.errors import UserError

# "a" is only lexical, "d" only dense. Normalised per side:
#   min-max  lexical a 1, b 0.5, c 0        dense b 1, c 0.5, d 0
#   z-score  lexical a s, b 0,   c -s       dense b s, c 0,   d -s     with s = sqrt(1.5)
LEXICAL = {"q1": {"a": 10.0, "b": 8.0, "c": 6.0}}
DENSE = {"q1": {"b": 0.9, "c": 0.5, "d": 0.1}}
ALPHA = 0.25  # not 0.5, so that swapping the two sides changes every score
S = math.sqrt(1.5)

# (normalization, missing) -> fused scores of the lexical candidates a, b, c, and of "d" under "union".
EXPECTED = {
    ("none", "min"): (
        {"a": 0.25 * 10 + 0.75 * 0.1, "b": 0.25 * 8 + 0.75 * 0.9, "c": 0.25 * 6 + 0.75 * 0.5},
        1.575,
    ),
    ("none", "zero"): ({"a": 0.25 * 10, "b": 0.25 * 8 + 0.75 * 0.9, "c": 0.25 * 6 + 0.75 * 0.5}, 0.75 * 0.1),
    ("min-max", "min"): ({"a": 0.25, "b": 0.125 + 0.75, "c": 0.75 * 0.5}, 0.0),
    ("min-max", "zero"): ({"a": 0.25, "b": 0.125 + 0.75, "c": 0.75 * 0.5}, 0.0),
    ("z-score", "min"): ({"a": 0.25 * S - 0.75 * S, "b": 0.75 * S, "c": -0.25 * S}, -S),
    ("z-score", "zero"): ({"a": 0.25 * S, "b": 0.75 * S, "c": -0.25 * S}, -0.75 * S),
}


def test_registry():
    assert MISSING_POLICIES == ("min", "zero")
    assert CANDIDATES == ("lexical", "union")
    assert fusion.MISSING_POLICIES == MISSING_POLICIES
    assert fusion.interpolate is interpolate


@pytest.mark.parametrize(("normalization", "missing"), list(EXPECTED))
def test_lexical_candidates(normalization, missing):
    out = interpolate(LEXICAL, DENSE, ALPHA, normalization=normalization, missing=missing).to_dict()
    assert out == {"q1": pytest.approx(EXPECTED[normalization, missing][0], abs=1e-12)}


@pytest.mark.parametrize(("normalization", "missing"), list(EXPECTED))
def test_union_candidates(normalization, missing):
    out = interpolate(
        LEXICAL, DENSE, ALPHA, normalization=normalization, missing=missing, candidates="union"
    ).to_dict()
    expected, d = EXPECTED[normalization, missing]
    assert out == {"q1": pytest.approx({**expected, "d": d}, abs=1e-12)}


def test_defaults_are_min_max_min_lexical():
    assert interpolate(LEXICAL, DENSE, ALPHA) == interpolate(
        LEXICAL, DENSE, ALPHA, normalization="min-max", missing="min", candidates="lexical"
    )


def _order(run):
    return [doc for doc, _ in compact(run)["q"]]


ORDER_LEXICAL = {"q": {"a": 5.0, "b": 3.0, "c": 4.0, "d": 1.0, "f": 3.0}}
ORDER_DENSE = {"q": {"a": 0.1, "b": 0.9, "c": 0.5, "d": 0.7, "f": 0.2, "e": 0.99}}


@pytest.mark.parametrize("normalization", ["none", "min-max", "z-score"])
def test_alpha_one_is_the_lexical_order(normalization):
    out = interpolate(ORDER_LEXICAL, ORDER_DENSE, 1.0, normalization=normalization)
    assert _order(out) == _order(ORDER_LEXICAL) == ["a", "c", "b", "f", "d"]


@pytest.mark.parametrize("normalization", ["none", "min-max", "z-score"])
def test_alpha_zero_is_the_dense_order_over_the_candidates(normalization):
    out = interpolate(ORDER_LEXICAL, ORDER_DENSE, 0.0, normalization=normalization)
    assert _order(out) == ["b", "d", "c", "f", "a"]  # dense order without "e", which BM25 did not retrieve


def test_alpha_zero_union_is_the_dense_order():
    out = interpolate(ORDER_LEXICAL, ORDER_DENSE, 0.0, candidates="union")
    assert _order(out) == _order(ORDER_DENSE) == ["e", "b", "d", "c", "f", "a"]


def test_queries_in_one_run_only():
    lexical = {"q1": {"a": 1.0}, "q2": {"x": 4.0}}
    dense = {"q1": {"a": 1.0}, "q3": {"y": 2.0}}
    only_lexical = interpolate(lexical, dense, ALPHA, normalization="none")
    assert only_lexical.to_dict() == {"q1": {"a": 1.0}, "q2": {"x": 0.25 * 4.0}}
    # A side with no list for the query gives 0.0 under either policy.
    for missing in MISSING_POLICIES:
        union = interpolate(lexical, dense, ALPHA, normalization="none", missing=missing, candidates="union")
        assert union.to_dict() == {"q1": {"a": 1.0}, "q2": {"x": 0.25 * 4.0}, "q3": {"y": 0.75 * 2.0}}


def test_k_truncates_after_fusion():
    out = interpolate(LEXICAL, DENSE, ALPHA, normalization="none", k=2)
    expected = EXPECTED["none", "min"][0]
    assert out.to_dict() == {"q1": pytest.approx({"b": expected["b"], "a": expected["a"]})}
    assert [doc for doc, _ in out["q1"]] == ["b", "a"]


def test_ties_are_broken_by_doc_id():
    out = interpolate({"q": {"z": 1.0, "y": 1.0, "x": 2.0}}, {"q": {}}, 0.5, k=2)
    assert [doc for doc, _ in out["q"]] == ["x", "y"]


def test_inputs_are_not_modified():
    lexical, dense = {"q": {"a": 2.0, "b": 1.0}}, {"q": {"c": 3.0}}
    interpolate(lexical, dense, 0.5, candidates="union", normalization="z-score")
    assert lexical == {"q": {"a": 2.0, "b": 1.0}}
    assert dense == {"q": {"c": 3.0}}


@pytest.mark.parametrize("alpha", [-0.1, 1.5, math.nan])
def test_alpha_out_of_range(alpha):
    with pytest.raises(UserError, match=rf"^alpha must be in \[0, 1\], got {alpha!r}$"):
        interpolate(LEXICAL, DENSE, alpha)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"missing": "max"}, r"^unknown missing policy 'max'; known: min, zero$"),
        ({"candidates": "dense"}, r"^unknown candidate set 'dense'; known: lexical, union$"),
        ({"normalization": "l2"}, r"^unknown normalization 'l2'; known: none, min-max, z-score$"),
        ({"k": 0}, r"^k must be a positive integer or None, got 0$"),
    ],
)
def test_bad_options(kwargs, message):
    with pytest.raises(UserError, match=message):
        interpolate(LEXICAL, DENSE, 0.5, **kwargs)
