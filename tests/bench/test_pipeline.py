"""`run_suite` as a function: a Report back, written where asked, with no command line involved."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import pipeline, schema
from bench.pipeline import Interrupted, run_suite
from bench.results import CellResult, Report
from bench.suite import load_suite
from tests.bench.test_cli_run import suite  # noqa: F401  (the fixture)


def test_run_suite_returns_the_report_it_wrote(suite: Path, tmp_path: Path) -> None:  # noqa: F811
    report = run_suite(load_suite(suite, ["latency.backends=torch"]), tmp_path / "results", as_latest=True)
    assert isinstance(report, Report) and report.status == "complete" and report.finished_at
    assert [c.id for c in report.cells] == [
        f"{e}/torch/cpu/fp32/b{n}/t1" for e in ("bert-tiny", "l0-tiny") for n in (1, 4)
    ]
    assert set(report.encoders) == {"bert-tiny", "l0-tiny"} and len(report.setups) == 2
    stamped, latest = schema.paths(report, tmp_path / "results")
    assert schema.load(stamped) == report and latest.read_text() == stamped.read_text()
    assert report.suite_file == str(suite)  # the suite's path when no other name is given


def test_ctrl_c_writes_the_finished_part_and_carries_it(suite: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: F811
    calls = []
    real = pipeline.run_latency

    def stopped(*args, **kwargs):
        for result in real(*args, **kwargs):
            calls.append(result)
            yield result
            if isinstance(result, CellResult):  # the first cell, after every encoder and setup
                raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_latency", stopped)
    with pytest.raises(KeyboardInterrupt) as caught:
        run_suite(load_suite(suite, ["latency.backends=torch"]), tmp_path, as_latest=True)
    assert isinstance(caught.value, Interrupted)
    partial = caught.value.report
    assert partial.status == "partial" and len(partial.cells) == 1 and len(partial.setups) == 2
    own, latest = schema.paths(partial, tmp_path)
    assert schema.load(own) == partial and latest is None and not list(tmp_path.glob("*-latest.json"))


def test_an_error_leaves_no_frozen_progress_line(suite: Path, tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: F811
    from daft.core.errors import UserError

    def broken(*args, **kwargs):
        raise UserError("encoder 'bert-tiny': something is wrong")
        yield  # a generator, like the real one

    monkeypatch.setattr(pipeline, "run_latency", broken)
    with pytest.raises(UserError):
        run_suite(load_suite(suite, []), tmp_path)
    assert "tiny: " not in capsys.readouterr().err  # no "tiny: preparing bert-tiny ... 0/8" left behind


def test_a_killed_runs_work_folder_is_removed_by_the_next_run(
    suite: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch,
    dead_pid: int,
) -> None:
    import os
    import tempfile

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    killed = temp / f".{pipeline.WORKDIR}.pid{dead_pid}.abc"
    alive = temp / f".{pipeline.WORKDIR}.pid{os.getppid()}.def"  # a run still going: kept
    for folder in (killed, alive):
        (folder / "model").mkdir(parents=True)
    run_suite(load_suite(suite, ["latency.devices=cuda"]), tmp_path / "results")  # skipped here: no CUDA
    assert sorted(p.name for p in temp.iterdir()) == [alive.name]
