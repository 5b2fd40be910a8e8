from bench.frontier import frontier, pareto


def test_pareto_flags():
    # (latency, quality): a is fastest, c is best, b is dominated by a (slower and worse), d ties c on both.
    points = [(1.0, 0.30), (2.0, 0.25), (5.0, 0.40), (5.0, 0.40), (6.0, 0.39)]
    assert pareto(points) == [True, False, True, True, False]
    assert pareto([(1.0, 0.1)]) == [True] and pareto([]) == []


def test_pareto_treats_overlapping_latency_intervals_as_ties():
    # Three encoders of one architecture (62-65 us, overlapping CIs) and a slow, middling one.
    points = [(62.0, 0.25), (64.0, 0.35), (65.0, 0.20), (3200.0, 0.34)]
    intervals = [(60.0, 66.0), (61.0, 67.0), (63.0, 68.0), (3100.0, 3300.0)]
    assert pareto(points) == [True, True, False, False]  # exact p50s: 62 us "beats" 64 us on noise
    assert pareto(points, intervals) == [False, True, False, False]


def _cell(encoder, batch, median):
    # Slow cells have too few samples for a reported p50 (None), but always a median.
    return {
        "id": f"{encoder}/b{batch}",
        "cell": {"encoder": encoder, "batch_size": batch},
        "end_to_end": {"median": median, "p50": None, "p99": None},
    }


def test_frontier_joins_latency_and_quality_and_borrows_missing_latency():
    report = {
        "cells": [_cell("big", 1, 5e6), _cell("big", 1, 4e6), _cell("big", 256, 9e8)],
        "encoders": {"big": {"parameters": 22_000_000}},
        "retrieval": {"measures": ["nDCG@10"], "systems": [
            {"id": "bm25", "encoder": None, "aggregate": {"nDCG@10": 0.3}},
            {"id": "big/dense", "encoder": "big", "query_parameters": 22_000_000, "aggregate": {"nDCG@10": 0.40}},
            {"id": "L0/dense", "encoder": "L0", "query_parameters": 1_000, "aggregate": {"nDCG@10": 0.35}},
        ]},
    }  # fmt: skip
    other = {"suite_file": "suites/cpu_latency.toml", "cells": [_cell("L0", 1, 1e5), _cell("big", 1, 1.0)]}
    entries = {e["encoder"]: e for e in frontier(report, other)}
    assert entries["big"]["b1"]["p50_ns"] == 4e6  # the fastest cell of this run, not the other report's
    assert (
        entries["big"]["latency_from"] == "this run"
        and entries["L0"]["latency_from"] == "suites/cpu_latency.toml"
    )
    assert entries["L0"]["b1"]["p50_ns"] == 1e5 and entries["L0"]["b256"] is None
    assert (
        entries["L0"]["pareto_dense"] and entries["big"]["pareto_dense"]
    )  # faster-but-worse vs slower-but-better
    assert entries["L0"]["hybrid"] is None and "pareto_hybrid" not in entries["L0"]
