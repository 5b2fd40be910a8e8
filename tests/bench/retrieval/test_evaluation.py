import math

import pytest

from bench.retrieval.evaluation import check_run, evaluate, parse_measures
from daft.errors import UserError

QRELS = {"q1": {"d1": 1}, "q2": {"d3": 1}, "q3": {"d4": 1}}
RUN = {"q1": {"d2": 2.0, "d1": 1.0}, "q2": {"d3": 5.0, "d1": 1.0}}  # q3 retrieves nothing


def test_known_values_and_missing_queries_count_zero():
    aggregate, per_query = evaluate(RUN, QRELS, ["nDCG@10", "RR@10", "R@1"])
    ndcg_q1 = 1 / math.log2(3)  # the relevant doc at rank 2, ideal at rank 1
    assert per_query["nDCG@10"] == pytest.approx({"q1": ndcg_q1, "q2": 1.0, "q3": 0.0})
    assert aggregate["nDCG@10"] == pytest.approx((ndcg_q1 + 1.0) / 3)
    assert aggregate["RR@10"] == pytest.approx(0.5)
    assert aggregate["R@1"] == pytest.approx(1 / 3)


def test_measure_names_are_canonical_ir_measures_strings():
    assert [str(m) for m in parse_measures(["nDCG@10", "RR@10", "AP"])] == ["nDCG@10", "RR@10", "AP"]
    with pytest.raises(UserError, match="unknown measure 'Foo@1'"):
        parse_measures(["Foo@1"])


def test_unknown_ids_are_refused():
    with pytest.raises(UserError, match="queries not in the judged split, e.g. 'qx'"):
        check_run({"qx": {"d1": 1.0}}, QRELS, {"d1", "d2", "d3", "d4"}, "run")
    with pytest.raises(UserError, match="query 'q1' retrieves 'dz', which is not in the corpus"):
        check_run({"q1": {"dz": 1.0}}, QRELS, {"d1", "d2", "d3", "d4"}, "run")
    check_run(RUN, QRELS, {"d1", "d2", "d3", "d4"}, "run")
