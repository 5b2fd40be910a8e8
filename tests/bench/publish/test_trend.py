"""Trends: one line per cell and machine, marked where the gate would judge a pair of neighbours."""

from __future__ import annotations

from pathlib import Path

from bench.compare import compare_cell
from bench.publish.inputs import collect
from bench.publish.trend import latency_trends
from bench.specs import GateSpec
from tests.bench.publish.sample import cells_count


def _trends(results: Path):  # noqa: ANN202
    (suite,) = collect([results]).suites
    machines = {run.link: run.report.environment["cpu"]["model"] for run in suite.runs}
    return suite, latency_trends(suite.runs, machines)


def test_machines_are_never_joined_into_one_line(results: Path) -> None:
    _, trends = _trends(results)
    assert len(trends) == 2 * cells_count()
    for trend in trends:
        assert len(trend.points) == 2  # runs 0 and 2 on cpu-a, 1 and 3 on cpu-b
        assert len({p.source.report.environment["cpu"]["model"] for p in trend.points}) == 1


def test_the_marks_are_the_gates_verdicts_between_neighbours(results: Path) -> None:
    _, trends = _trends(results)
    for trend in trends:
        first, second = trend.points
        assert first.change is None
        # What `bench compare` says of the same pair, computed in full.
        verdict = compare_cell(second.result.id, first.result, second.result, GateSpec()).verdict
        assert verdict == "regression"
        assert second.change is not None and second.change.verdict == verdict


def test_a_change_within_the_threshold_is_not_marked(tmp_path: Path) -> None:
    from tests.bench.publish.sample import write_results

    write_results(tmp_path / "r", factors=(1.0, 1.05, 0.97))
    _, trends = _trends(tmp_path / "r")
    assert trends and all(p.change is None for t in trends for p in t.points)
