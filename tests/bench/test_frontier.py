from dataclasses import replace

from bench.frontier import frontier, measured_frontier, pareto
from bench.results import EncoderInfo, PairInfo
from tests.bench.support import cell_result, report, retrieval, system


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
    return cell_result(encoder, batch, median=median)


def test_frontier_joins_latency_and_quality_and_borrows_missing_latency():
    big = report(
        [_cell("big", 1, 5e6), _cell("big", 1, 4e6), _cell("big", 256, 9e8)],
        suite={"latency": {"batch_sizes": [1, 8, 256]}},
        encoders={"big": EncoderInfo("big", "transformer", 22_000_000, 384, 0, "", 0.0)},
        retrieval=retrieval(
            [
                system("bm25", {"nDCG@10": 0.3}),
                system("big/dense", {"nDCG@10": 0.40}, pair=PairInfo(22_000_000, "cached", "flat")),
                system("L0/dense", {"nDCG@10": 0.35}, pair=PairInfo(1_000, "cached", "flat")),
            ]
        ),
    )
    other = replace(report([_cell("L0", 1, 1e5), _cell("big", 1, 1.0)]), suite_file="suites/cpu_latency.toml")
    entries = {e.encoder: e for e in frontier(big, other)}
    assert entries["big"].latency[1].p50_ns == 4e6  # the fastest cell of this run, not the other report's
    assert entries["big"].latency_from == "this run"
    assert entries["L0"].latency_from == "suites/cpu_latency.toml"
    assert entries["L0"].latency[1].p50_ns == 1e5 and entries["L0"].latency[256] is None
    assert entries["L0"].parameters == 1_000  # from the pair when this run did not build the encoder
    assert (
        entries["L0"].pareto["dense"] and entries["big"].pareto["dense"]
    )  # faster-but-worse vs slower-but-better
    assert entries["L0"].quality["hybrid"] is None and "hybrid" not in entries["L0"].pareto


def test_a_retrieval_only_run_has_no_frontier():
    quality = retrieval([system("bm25", {"nDCG@10": 0.3}), system("m/dense", {"nDCG@10": 0.4})])
    alone = report([], suite={"latency": None, "retrieval": {}}, retrieval=quality)
    assert measured_frontier(alone) is None  # no table of quality alone, with empty latency columns
    given = report([_cell("m", 1, 1e5)])  # a latency report for the encoder: then there is one
    (entry,) = measured_frontier(alone, given)
    assert entry.encoder == "m" and entry.latency[1].p50_ns == 1e5
    assert entry.batches == given.key_batches == (1, 32)  # the batch sizes of the report that measured


def test_the_frontier_batches_are_the_suites_smallest_and_largest():
    cells = [_cell("m", batch, 1e5 * batch) for batch in (2, 8, 64)]
    quality = retrieval([system("m/dense", {"nDCG@10": 0.4})])
    measured = report(cells, suite={"latency": {"batch_sizes": [8, 2, 64]}}, retrieval=quality)
    (entry,) = frontier(measured)
    assert entry.batches == (2, 64) and entry.single.p50_ns == 2e5 and entry.latency[64].p50_ns == 64e5
    assert entry.pareto == {"dense": True}
