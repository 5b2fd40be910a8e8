import math

import numpy as np
import pytest

from daft.core.errors import UserError
from daft.search.evaluation import dense_run, evaluate_dense, evaluate_run
from daft.search.measures import parse_measures

QRELS = {"q1": {"d1": 1}, "q2": {"d3": 1}, "q3": {"d4": 1}}
RUN = {"q1": {"d2": 2.0, "d1": 1.0}, "q2": {"d3": 5.0, "d1": 1.0}}  # q3 retrieves nothing


def test_known_values_and_missing_queries_count_zero():
    aggregate, per_query = evaluate_run(RUN, QRELS, ["nDCG@10", "RR@10", "R@1"])
    ndcg_q1 = 1 / math.log2(3)  # the relevant doc at rank 2, ideal at rank 1
    assert per_query["nDCG@10"] == pytest.approx({"q1": ndcg_q1, "q2": 1.0, "q3": 0.0})
    assert aggregate["nDCG@10"] == pytest.approx((ndcg_q1 + 1.0) / 3)
    assert aggregate["RR@10"] == pytest.approx(0.5)
    assert aggregate["R@1"] == pytest.approx(1 / 3)


def test_measure_names_are_canonical_ir_measures_strings():
    assert [str(m) for m in parse_measures(["nDCG@10", "RR@10", "AP"])] == ["nDCG@10", "RR@10", "AP"]
    with pytest.raises(UserError, match="unknown measure 'Foo@1'"):
        parse_measures(["Foo@1"])


def test_dense_run_ranks_by_inner_product_to_depth():
    docs = np.eye(3, dtype=np.float32)  # d1, d2, d3 along the axes
    queries = np.array([[0.1, 0.9, 0.3], [1.0, 0.0, 0.2]], dtype=np.float32)
    run = dense_run(queries, ["q1", "q2"], docs, ["d1", "d2", "d3"], depth=2)
    assert [list(hits) for hits in run.values()] == [["d2", "d3"], ["d1", "d3"]]
    assert run["q1"]["d2"] == pytest.approx(0.9)


def test_dense_evaluation_counts_a_judged_query_it_was_not_given_as_zero():
    docs = np.eye(3, dtype=np.float32)
    queries = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    qrels = {"q1": {"d2": 1}, "q2": {"d1": 1}}  # q2 is judged but not ranked
    assert evaluate_dense(queries, ["q1"], docs, ["d1", "d2", "d3"], qrels, ["RR@10"]) == {"RR@10": 0.5}


def test_dense_run_reads_the_caches_read_only_vectors_without_a_warning(tmp_path) -> None:
    """A training run's final evaluation printed torch's non-writable-array warning for the cached index."""
    import warnings

    import numpy as np

    from daft.search.evaluation import dense_run

    np.save(tmp_path / "v.npy", np.eye(3, dtype=np.float32))
    docs = np.load(tmp_path / "v.npy", mmap_mode="r")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = dense_run(np.eye(3, dtype=np.float32)[:1], ["q"], docs, ["a", "b", "c"], depth=2)
    assert list(run["q"]) == ["a", "b"] and run["q"]["a"] == 1.0
