"""Lucene hits ranked as Anserini ranks them: the JSON hand-over, exact float32 scores, the tie adjustment."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from daft.search.bm25_hits import adjust_ties, exact_float32, parse_hits, rank_hits


def java_adjust(row: list[float]) -> list[float]:
    """ScoreTiesAdjusterReranker.rerank, transcribed statement by statement (float32 scalars, as Java)."""
    scores = [np.float32(s) for s in row]
    dup = 0
    for i in range(len(scores)):
        scaled = float(scores[i]) * 10000.0
        scores[i] = np.float32(math.floor(Fraction(scaled) + Fraction(1, 2)) / 10000.0)  # Math.round
        if i == 0 or scores[i - 1] - scores[i] > np.float32(1e-4):
            dup = 0
        else:
            dup += 1
            scores[i] = scores[i] - np.float32(1e-6) * np.float32(dup)
    return [float(s) for s in scores]


def test_adjust_ties_matches_anserini_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    # Scores on a 1e-4 grid plus jitter around it: ties, near-ties, gaps of exactly one step, and runs of
    # ties long enough that their nudges reach the next step down.
    base = 5.0 - 1e-4 * np.sort(rng.integers(0, 40, size=(50, 300)), axis=1)
    jitter = rng.choice([0.0, 0.0, 2e-5, -4.9e-5, 5e-5, 1e-7], size=base.shape)
    rows = np.sort((base + jitter).astype(np.float32), axis=1)[:, ::-1]
    got = adjust_ties(rows)
    expected = np.array([java_adjust(row.tolist()) for row in rows], dtype=np.float32)
    assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))
    # The cases above really happen: nudged ties, and ties running on across a 1e-4 step.
    rounded = np.round(rows.astype(np.float64), 4).astype(np.float32)
    assert (got != rounded).mean() > 0.3


def test_a_run_of_ties_continues_across_one_step() -> None:
    got = adjust_ties(np.array([[2.0002, 2.0002, 2.0001, 1.9]], dtype=np.float32))[0]
    assert got.tolist() == [
        np.float32(2.0002),
        np.float32(2.0002) - np.float32(1e-6),
        np.float32(2.0001) - np.float32(2e-6),  # 1e-4 below a nudged score is still a tie
        np.float32(1.9),
    ]


def test_ties_equal_after_adjustment_are_ordered_by_doc_id() -> None:
    # Near 20 a float32 step is 1.9e-6: the second and third nudges land on the same score.
    docs = np.array([0, 2, 1], dtype=np.int32)
    raw = np.array([20.00003, 20.00002, 20.00001], dtype=np.float32)
    id_rank = np.array([1, 0, 2], dtype=np.int32)  # ids sort as doc 1, doc 0, doc 2
    ((ranked_docs, scores),) = rank_hits([(docs, raw)], id_rank)
    assert scores[1] == scores[2] < scores[0]
    assert ranked_docs.tolist() == [0, 1, 2]


def test_padding_and_empty_rows() -> None:
    ranked = rank_hits(
        [
            (np.array([4], dtype=np.int32), np.array([1.0], dtype=np.float32)),
            (np.zeros(0, np.int32), np.zeros(0, np.float32)),
        ],
        np.arange(5, dtype=np.int32),
    )
    assert [docs.tolist() for docs, _ in ranked] == [[4], []]
    assert rank_hits([], np.arange(5, dtype=np.int32)) == []


def test_parse_hits() -> None:
    docs, scores = parse_hits('{"scoreDocs":[[3,1.5],[1,0.25],[7,1.0E-5]]}')
    assert docs.dtype == np.int32 and docs.tolist() == [3, 1, 7]
    assert scores.dtype == np.float32 and scores.tolist() == [1.5, 0.25, float(np.float32(1e-5))]
    empty_docs, empty_scores = parse_hits('{"scoreDocs":[]}')
    assert len(empty_docs) == len(empty_scores) == 0


@pytest.mark.parametrize(
    "text", ['{"scoreDocs":[[3,1.5,-1]]}', '{"totalHits":1,"scoreDocs":[[3,1.5]]}', "[]"]
)
def test_an_unexpected_layout_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="unexpected hits layout"):
        parse_hits(text)


def test_shortest_decimals_give_their_float32_back() -> None:
    values = np.random.default_rng(3).uniform(0, 60, 5_000).astype(np.float32)
    got = exact_float32([repr(float(v)) for v in values] + [str(v) for v in values])
    assert np.array_equal(got.view(np.uint32), np.concatenate([values, values]).view(np.uint32))


def test_a_decimal_whose_double_is_halfway_between_two_float32s() -> None:
    below, above = np.float32(1.0), np.nextafter(np.float32(1.0), np.float32(2.0))
    halfway = (Decimal(float(below)) + Decimal(float(above))) / 2  # a double: 1 + 2**-24
    tiny = Decimal(2) ** -70  # far below a double's precision, so the decimal's double is `halfway`
    tokens = [str(halfway + tiny), str(halfway - tiny), str(halfway)]
    assert all(float(token) == float(halfway) for token in tokens)
    # Rounding the double would give `below` (to even) each time; the decimals say otherwise for the first.
    assert exact_float32(tokens).tolist() == [above, below, below]
    odd_below = above  # the next pair has its even neighbour above
    odd_above = np.nextafter(above, np.float32(2.0))
    halfway = (Decimal(float(odd_below)) + Decimal(float(odd_above))) / 2
    assert exact_float32([str(halfway - tiny), str(halfway)]).tolist() == [odd_below, odd_above]


def test_a_score_at_an_exact_half_rounds_up_as_javas_math_round() -> None:
    # 1/32 * 1e4 = 312.5 exactly (a float32 and its float64 product): Math.round gives 313, and -312 below 0.
    raw = np.array([[np.float32(1 / 32)], [np.float32(-1 / 32)], [np.float32(3 / 32)]], dtype=np.float32)
    adjusted = adjust_ties(raw)[:, 0]
    assert adjusted.tolist() == [np.float32(0.0313), np.float32(-0.0312), np.float32(0.0938)]
