"""`bench.history` and `python -m bench history`: collecting a suite's reports, key series, step changes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bench import schema
from bench.__main__ import main
from bench.cli import history as history_cli
from bench.history import build_history, collect, key_cells, report_paths, step_changes
from bench.results import Report
from tests.bench.support import cell_result, report, retrieval, system

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ENCODERS = ("minilm-l6", "L0")
BATCHES = (1, 8, 32)
ENVIRONMENT = {"cpu": {"model": "Test CPU", "logical_cores": 2}, "packages": {"torch": "2.13.0"}}


def make_report(
    day: int,
    latency: dict[str, float] | None = None,
    ndcg: float | None = 0.30,
    *,
    suite: str = "tiny",
    environment: dict[str, Any] | None = None,
    ci: float = 0.02,
) -> Report:
    """A report of `suite` started on 2026-11-`day`; `latency` maps cell ids to p50 (ns), others get 1 ms."""
    latency = latency or {}
    cells = []
    for encoder in ENCODERS:
        for batch in BATCHES:
            p50 = latency.get(f"{encoder}/torch/cpu/fp32/b{batch}/t1", 1e6)
            cells.append(
                cell_result(encoder, batch, median=p50, p50=p50, ci=(p50 * (1 - ci), p50 * (1 + ci)))
            )
    quality = None
    if ndcg is not None:
        quality = retrieval(
            [
                system("bm25", {"nDCG@10": 0.25, "R@100": 0.6}),
                system("minilm-l6/dense", {"nDCG@10": ndcg, "R@100": 0.7}),
            ]
        )
    return report(
        cells,
        suite={"suite": {"name": suite}, "latency": {"batch_sizes": list(BATCHES)}},
        retrieval=quality,
        started_at=f"2026-11-{day:02d}T12:00:00+00:00",
        status="complete",
        environment=environment if environment is not None else ENVIRONMENT,
    )


B1 = "minilm-l6/torch/cpu/fp32/b1/t1"
NOISE = (1.00, 1.03, 0.97, 1.04, 0.98, 1.02)  # within 5% of 1 ms


def write_history(results: Path, factors: tuple[float, ...] = (*NOISE, 1.30)) -> list[Path]:
    """One report per factor, day 1, 2, ...; the b1 cell of minilm-l6 at factor x 1 ms."""
    written = [schema.write(make_report(day, {B1: f * 1e6}), results) for day, f in enumerate(factors, 1)]
    return [schema.paths(r, results)[0] for r in written]


# --- step changes ----------------------------------------------------------------------------------------------


def test_a_30_percent_step_is_flagged_and_noise_within_5_percent_is_not() -> None:
    values = [v * 1e6 for v in (*NOISE, 1.30)]
    cis = [(v * 0.98, v * 1.02) for v in values]
    steps = step_changes(values, cis, threshold=0.10)
    assert steps[:-1] == [None] * len(NOISE)
    step = steps[-1]
    assert step is not None and step.index == len(NOISE) and step.up
    assert step.baseline == pytest.approx(1.02e6)  # median of the previous five
    assert step.relative == pytest.approx(1.30 / 1.02 - 1)


def test_a_drop_is_flagged_downwards_and_the_new_level_is_not_flagged_again() -> None:
    values = [1.0, 1.0, 1.0, 0.6, 0.6, 0.6, 0.6, 0.6]
    steps = step_changes(values, threshold=0.10)
    assert [i for i, s in enumerate(steps) if s] == [3]
    assert not steps[3].up and steps[3].relative == pytest.approx(-0.4)


def test_without_intervals_a_point_must_also_move_from_the_previous_one() -> None:
    # 1.0 -> 0.6 -> 0.62: the 0.62 is still 38% under the median of the window, but no new step.
    steps = step_changes([1.0, 1.0, 1.0, 0.6, 0.62], threshold=0.10)
    assert [i for i, s in enumerate(steps) if s] == [3]


def test_a_change_inside_the_previous_interval_is_not_a_step() -> None:
    values = [100.0, 100.0, 100.0, 120.0]
    wide = [(50.0, 150.0)] * 4
    assert step_changes(values, wide, threshold=0.10)[-1] is None
    assert step_changes(values, None, threshold=0.10)[-1] is not None


def test_missing_points_are_skipped_and_the_threshold_is_configurable() -> None:
    values = [1.0, None, 1.0, None, 1.15]
    assert step_changes(values, threshold=0.10)[4] is not None
    assert step_changes(values, threshold=0.20)[4] is None
    assert step_changes([None, 1.0], threshold=0.1) == [None, None]


def test_from_zero_is_a_step() -> None:
    assert step_changes([0.0, 0.0, 0.5])[2].relative == float("inf")


# --- collecting and the series -------------------------------------------------------------------------------


def test_key_cells_are_batch_1_and_the_largest_batch() -> None:
    ids = key_cells(make_report(1))
    assert ids == [f"{e}/torch/cpu/fp32/b{b}/t1" for e in ENCODERS for b in (1, 32)]


def test_collect_takes_stamped_reports_of_the_suite_by_start_time_and_warns_about_bad_files(
    tmp_path: Path,
) -> None:
    late = schema.to_json(make_report(20))
    early = schema.to_json(make_report(10))
    # File names that sort the other way round from started_at: the order must come from started_at.
    (tmp_path / "tiny-20260101T000000.json").write_text(json.dumps(late))
    (tmp_path / "tiny-20261231T000000.json").write_text(json.dumps(early))
    schema.write(make_report(15), tmp_path)  # also writes tiny-latest.json, which must be left out
    schema.write(make_report(16, suite="tiny-big"), tmp_path)  # another suite sharing the prefix
    (tmp_path / "tiny-20261201T000000.json").write_text("{not json")
    (tmp_path / "tiny-20261202T000000.json").write_text(json.dumps({**early, "schema_version": 99}))
    (tmp_path / "tiny-notes.json").write_text("{}")
    reports, warnings = collect(tmp_path, "tiny")
    assert [r.started_at[:10] for _, r in reports] == ["2026-11-10", "2026-11-15", "2026-11-20"]
    assert len(warnings) == 2
    assert "tiny-20261201T000000.json" in warnings[0] and "left out" in warnings[0]
    assert "schema_version 99" in warnings[1]
    assert all(p.name != "tiny-latest.json" for p in report_paths(tmp_path, "tiny"))


def test_a_quick_look_is_no_point_of_the_history(tmp_path: Path) -> None:
    quick = replace(make_report(12), overrides=("latency.batch_sizes=[1]",), quick_look=True)
    schema.write(quick, tmp_path)  # as <suite>-<stamp>.quick.json, which is not read
    assert [p.name for p in tmp_path.iterdir()] == ["tiny-20261112T120000.quick.json"]
    assert collect(tmp_path, "tiny") == ([], [])
    # Renamed as a stamped report, it is still left out, with a warning.
    (tmp_path / "tiny-20261112T120000.quick.json").rename(tmp_path / "tiny-20261112T120000.json")
    reports, (warning,) = collect(tmp_path, "tiny")
    assert reports == [] and "a quick look" in warning and "left out" in warning


def test_history_tracks_latency_and_retrieval_series(tmp_path: Path) -> None:
    write_history(tmp_path)
    # The quality of the dense system drops by a third in the last run; bm25 stays put.
    schema.write(make_report(9, {B1: 1.3e6}, ndcg=0.20), tmp_path)
    history = build_history("tiny", collect(tmp_path, "tiny")[0])
    assert len(history.runs) == 8
    latency = {s.key: s for s in history.series if s.kind == "latency"}
    assert set(latency) == set(key_cells(make_report(1)))
    b1 = latency[B1]
    assert b1.values[-2:] == (1.3e6, 1.3e6) and b1.measure == "p50"
    assert [i for i, s in enumerate(b1.steps) if s] == [6]
    assert b1.regressed(b1.steps[6])
    quality = {s.key: s for s in history.series if s.kind == "quality"}
    assert set(quality) == {"bm25", "minilm-l6/dense"}
    dense = quality["minilm-l6/dense"]
    assert dense.measure == "nDCG@10" and dense.values == (0.30,) * 7 + (0.20,)
    assert dense.steps[-1] is not None and dense.regressed(dense.steps[-1])
    assert not any(quality["bm25"].steps)


def test_an_environment_change_is_noted(tmp_path: Path) -> None:
    schema.write(make_report(1), tmp_path)
    other = {**ENVIRONMENT, "packages": {"torch": "2.14.0"}}
    schema.write(make_report(2, environment=other), tmp_path)
    runs = build_history("tiny", collect(tmp_path, "tiny")[0]).runs
    assert not runs[0].environment_changed and runs[1].environment_changed
    assert any("packages.torch" in line for line in runs[1].environment_changes)


# --- the command -----------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def wide_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide table whatever COLUMNS says, so that the assertions below see whole cells."""
    monkeypatch.setattr(history_cli, "stdout", Console(width=200))


def test_cli_prints_the_table_and_writes_the_plot(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    results = tmp_path / "results"
    write_history(results)
    assert main(["history", "tiny", "--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert B1 in out and "minilm-l6/dense" in out and "nDCG@10" in out
    assert "L0/torch/cpu/fp32/b32/t1" in out and "b8/t1" not in out
    assert "↑1.30 ms +27%" in out and "0.3000" in out
    assert f"step: {B1} p50 at run #7" in out and "slower" in out
    assert (results / "tiny-history.png").read_bytes().startswith(PNG_MAGIC)


def test_cli_takes_a_suite_file_last_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    results = tmp_path / "results"
    write_history(results)
    suite = tmp_path / "renamed.toml"
    suite.write_text('[suite]\nname = "tiny"\n')
    plot = tmp_path / "plots" / "h.png"
    args = ["history", str(suite), "--results", str(results), "--plot", str(plot), "--last", "3"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "last 3 of 7 runs" in out and "#5" in out and "#4" not in out
    assert plot.read_bytes().startswith(PNG_MAGIC)


def test_cli_threshold_decides_what_is_a_step(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    results = tmp_path / "results"
    write_history(results)
    assert main(["history", "tiny", "--results", str(results), "--threshold", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "↑1.30" not in out and "no step changes in the last 7 runs" in out


def test_cli_without_reports_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    schema.write(make_report(1, suite="other"), tmp_path)
    assert main(["history", "tiny", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "no saved reports of suite 'tiny'" in err and "\n" not in err
    assert not (tmp_path / "tiny-history.png").exists()


def test_cli_rejects_a_bad_suite_name(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["history", "no such suite", "--results", str(tmp_path)]) == 2
    assert "neither a suite file nor a suite name" in capsys.readouterr().err


def test_cli_help_renders(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["history", "--help"])
    assert exit_info.value.code == 0
    assert "10% from the median of the previous 5 runs" in " ".join(capsys.readouterr().out.split())


def test_the_plot_stays_legible_with_36_series(tmp_path: Path) -> None:
    from bench.history import history_figure

    def day(n: int) -> Report:
        cells = [
            cell_result(f"enc{i}", 1, median=(1 + i / 10) * 1e6, p50=(1 + i / 10) * 1e6) for i in range(36)
        ]
        suite = {"suite": {"name": "tiny"}, "latency": {"batch_sizes": [1]}}
        return report(cells, suite=suite, started_at=f"2026-11-{n:02d}T12:00:00+00:00", status="complete")

    reports = [(tmp_path / f"{n}.json", day(n)) for n in (1, 2, 3)]
    history = build_history("tiny", reports)
    figure = history_figure(history)
    (axis,) = figure.axes
    lines = [line for line in axis.get_lines() if not line.get_label().startswith("_")]
    assert len(lines) == 36
    looks = {(line.get_color(), line.get_linestyle(), line.get_marker()) for line in lines}
    assert len(looks) == 36  # no two series look alike (the default cycle repeats after ten colours)
    legend = axis.get_legend()
    assert len(legend.get_texts()) == 36
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    # Beside the axes, not over the lines.
    assert legend.get_window_extent(renderer).x0 >= axis.get_window_extent(renderer).x1


def test_the_quality_trend_follows_the_primary_measure(tmp_path: Path) -> None:
    for day in (1, 2):
        made = make_report(day, ndcg=0.30)
        schema.write(replace(made, retrieval=replace(made.retrieval, primary_measure="R@100")), tmp_path)
    history = build_history("tiny", collect(tmp_path, "tiny")[0])
    dense = next(s for s in history.series if s.kind == "quality" and s.key == "minilm-l6/dense")
    assert dense.measure == "R@100" and dense.values == (0.7, 0.7)
