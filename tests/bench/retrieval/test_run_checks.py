import pytest

from bench.retrieval.run_checks import check_run
from daft.core.errors import UserError

QRELS = {"q1": {"d1": 1}, "q2": {"d3": 1}, "q3": {"d4": 1}}
RUN = {"q1": {"d2": 2.0, "d1": 1.0}, "q2": {"d3": 5.0, "d1": 1.0}}


def test_unknown_ids_are_refused():
    with pytest.raises(UserError, match="queries not in the judged split, e.g. 'qx'"):
        check_run({"qx": {"d1": 1.0}}, QRELS, {"d1", "d2", "d3", "d4"}, "run")
    with pytest.raises(UserError, match="query 'q1' retrieves 'dz', which is not in the corpus"):
        check_run({"q1": {"dz": 1.0}}, QRELS, {"d1", "d2", "d3", "d4"}, "run")
    with pytest.raises(UserError, match="query 'q2' retrieves 'dz', which is not in the corpus"):
        check_run({"q1": {"d1": 1.0}, "q2": {"d3": 2.0, "dz": 1.0}}, QRELS, {"d1", "d2", "d3", "d4"}, "run")
    check_run(RUN, QRELS, {"d1", "d2", "d3", "d4"}, "run")
