"""`python -m bench run` end to end on a tiny suite (tiny random encoders, offline), and its error paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bench import schema
from bench.__main__ import main

SUITE = """
[suite]
name = "tiny"

[queries]
file = "queries.txt"
limit = 16
max_length = 16

[[encoders]]
name = "bert-tiny"
arch = {{ layers = 1, hidden = 32, heads = 2, intermediate = 64 }}
tokenizer = "{tok}"

[[encoders]]
name = "l0-tiny"
type = "static"
model = "{model}"

[latency]
backends = [{backends}]
batch_sizes = [1, 4]
threads = [1]
baseline = "bert-tiny"

[measure]
min_time_s = 0.01
min_samples = 5
max_time_s = 0.5
warmup_max_s = 0.1
"""


@pytest.fixture
def suite(tmp_path: Path, tiny_tokenizer_dir: Path, tiny_model_dir: Path, monkeypatch) -> Path:
    monkeypatch.setenv("DAFT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "queries.txt").write_text(
        "the potter wheel\na quick brown fox\nbank of the river\nplay guitar\n"
    )
    path = tmp_path / "tiny.toml"
    path.write_text(
        SUITE.format(tok=tiny_tokenizer_dir, model=tiny_model_dir, backends='"torch", "onnxruntime"')
    )
    return path


def test_run_writes_complete_report_and_report_rerenders(suite: Path, tmp_path: Path, capsys):
    results = tmp_path / "results"
    assert main(["run", str(suite), "--results", str(results)]) == 0
    latest = results / "tiny-latest.json"
    stamped = [p for p in results.glob("tiny-*.json") if p != latest]
    assert len(stamped) == 1 and json.loads(stamped[0].read_text()) == json.loads(latest.read_text())
    report = schema.load(latest)
    assert report.status == "complete"
    ids = [cell.id for cell in report.cells]
    assert ids == [
        f"{e}/{b}/cpu/fp32/b{n}/t1"
        for e in ("bert-tiny", "l0-tiny")
        for b in ("torch", "onnxruntime")
        for n in (1, 4)
    ]
    for cell in report.cells:
        assert cell.end_to_end.n == len(cell.samples["end_to_end"]) >= 1
        assert cell.end_to_end.median >= cell.forward.median > 0
        assert cell.warmup.calls >= 1
    for setup in report.setups:
        assert setup.parity_max_abs_diff < 1e-4
    assert report.encoders["bert-tiny"].parameters > 0
    assert report.encoders["bert-tiny"].random_init is True  # an `arch` encoder, said in the JSON
    assert json.loads(latest.read_text())["encoders"]["bert-tiny"]["random_init"] is True
    assert report.environment["packages"]["torch"]
    assert report.harness.overhead_ns > 0 and report.reference["median_ns"] > 0
    out = capsys.readouterr().out
    assert "tiny — batch 1 on cpu" in out and "rounds ended:" in out
    assert main(["report", str(latest), "--phases", "--wide"]) == 0
    out = capsys.readouterr().out
    assert "where the time goes" in out and "tiny — query encoding latency on cpu" in out


def test_dry_run_measures_nothing(suite: Path, tmp_path: Path, capsys):
    assert main(["run", str(suite), "--dry-run", "--results", str(tmp_path / "r")]) == 0
    shown = capsys.readouterr()
    assert "8 cells" in shown.err
    lines = shown.err.splitlines()
    # Each encoder's model as resolved: no fetching, no loading.
    assert any(
        "bert-tiny" in line and "1 layers x 32 wide, random init, tokenizer directory" in line
        for line in lines
    )
    assert any("l0-tiny" in line and "static: directory" in line for line in lines)
    assert not (tmp_path / "r").exists()


def test_set_override_is_recorded(suite: Path, tmp_path: Path):
    results = tmp_path / "results"
    overrides = ["--set", "latency.batch_sizes=[2]", "--set", "latency.backends=torch"]
    assert main(["run", str(suite), "--results", str(results), *overrides]) == 0
    (written,) = results.glob("tiny-*.json")
    report = schema.load(written)
    assert report.overrides == ("latency.batch_sizes=[2]", "latency.backends=torch")
    assert {cell.cell.batch_size for cell in report.cells} == {2}


def test_a_quick_look_rewrites_no_history(suite: Path, tmp_path: Path, capsys):
    results = tmp_path / "results"
    quick = ["--set", "latency.batch_sizes=[1]", "--set", "latency.backends=torch"]
    assert main(["run", str(suite), "--results", str(results), *quick]) == 0
    (written,) = results.glob("tiny-*.json")
    assert written.name.endswith(".quick.json") and not (results / "tiny-latest.json").exists()
    assert schema.load(written).quick_look
    echoed = capsys.readouterr()
    note = "overrides: latency.batch_sizes=[1] latency.backends=torch (a quick look: not written as "
    assert note in echoed.err  # before the run...
    assert note in echoed.out  # ...and with its summary
    assert "a quick look: tiny-latest.json left as it was" in echoed.err
    assert main(["history", "tiny", "--results", str(results)]) == 2  # not a step of the history
    assert "no saved reports of suite 'tiny'" in capsys.readouterr().err
    assert main(["run", str(suite), "--results", str(results), *quick, "--as-latest"]) == 0
    latest = schema.load(results / "tiny-latest.json")
    assert not latest.quick_look and latest.overrides == ("latency.batch_sizes=[1]", "latency.backends=torch")
    assert main(["history", "tiny", "--results", str(results), "--plot", str(tmp_path / "h.png")]) == 0
    assert "last 1 of 1 runs" in capsys.readouterr().out


@pytest.mark.skipif(torch.cuda.is_available(), reason="this test is about a machine without CUDA")
def test_gpu_suite_without_cuda_is_skipped_not_faked(suite: Path, tmp_path: Path):
    results = tmp_path / "results"
    assert (
        main(["run", str(suite), "--results", str(results), "--set", "latency.devices=cuda", "--as-latest"])
        == 0
    )
    report = schema.load(results / "tiny-latest.json")
    assert report.status == "skipped" and "no CUDA device" in report.skip_reason
    assert report.cells == () and len(report.excluded) == 8


def test_a_backend_this_machine_cannot_run_is_excluded_and_the_rest_measured(
    suite: Path, tmp_path: Path, monkeypatch, capsys
):
    import bench.pipeline as pipeline

    reason = "onnxruntime 0.0 has no CUDAExecutionProvider"
    monkeypatch.setattr(pipeline, "unavailable", lambda b, d: reason if b == "onnxruntime" else None)
    results = tmp_path / "results"
    assert main(["run", str(suite), "--results", str(results)]) == 0
    report = schema.load(results / "tiny-latest.json")
    assert report.status == "complete"
    assert {c.cell.backend for c in report.cells} == {"torch"}
    assert len(report.excluded) == 4 and {e.reason for e in report.excluded} == {reason}
    assert f"excluded: 4 cells: {reason}" in capsys.readouterr().out


def test_ctrl_c_saves_partial_report(suite: Path, tmp_path: Path, monkeypatch):
    from bench.rounds import TimedCell

    real = TimedCell.visit
    calls = []

    def interrupted(self, position):
        calls.append(1)
        if len(calls) == 2:  # the second visit of the first round: one cell has a round
            raise KeyboardInterrupt
        return real(self, position)

    monkeypatch.setattr(TimedCell, "visit", interrupted)
    results = tmp_path / "results"
    assert main(["run", str(suite), "--results", str(results)]) == 130
    (kept,) = results.glob("tiny-*.partial.json")
    report = schema.load(kept)
    assert report.status == "partial" and len(report.cells) == 1
    assert not (results / "tiny-latest.json").exists()  # a partial run never becomes -latest


def test_missing_model_is_one_line_exit_2_and_writes_nothing(
    suite: Path, tmp_path: Path, capsys, monkeypatch
):
    import bench.runners.latency as latency

    measured = []
    monkeypatch.setattr(latency, "interleave", lambda *args, **kwargs: measured.append(args))
    results = tmp_path / "results"
    code = main(
        ["run", str(suite), "--results", str(results), "--set", "encoders.l0-tiny.model=no-such-model"]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("error: model 'no-such-model' is not a known asset")
    assert not results.exists()
    assert measured == []  # found before the cells of the encoder before it (bert-tiny) were measured


def test_bad_suite_key_is_exit_2(suite: Path, tmp_path: Path, capsys):
    suite.write_text(suite.read_text().replace("batch_sizes", "batchsizes"))
    assert main(["run", str(suite)]) == 2
    assert "tiny.toml: [latency] batchsizes: unknown key 'batchsizes'" in capsys.readouterr().err


def test_report_rejects_other_schema_version(tmp_path: Path, capsys):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"schema": schema.SCHEMA, "schema_version": 99}))
    assert main(["report", str(path)]) == 2
    assert "schema_version 99 is not supported" in capsys.readouterr().err
    path.write_text("{not json")
    assert main(["report", str(path)]) == 2


def test_a_latency_backend_is_one_module_and_one_registry_line(suite: Path, tmp_path: Path, monkeypatch):
    from bench import backends

    monkeypatch.setattr(backends, "_MODULES", (*backends._MODULES, "tests.bench.backends.numpy_mean"))
    backends.registry.cache_clear()
    try:
        results = tmp_path / "results"
        overrides = ["--set", 'latency.backends=["torch", "numpy-mean"]', "--set", "latency.batch_sizes=[4]"]
        assert main(["run", str(suite), "--results", str(results), *overrides, "--as-latest"]) == 0
        report = schema.load(results / "tiny-latest.json")
        assert "l0-tiny/numpy-mean/cpu/fp32/b4/t1" in [cell.id for cell in report.cells]
        # A transformer is refused by the backend's own declaration, as an exclusion, not a failure.
        assert any("numpy-mean runs static encoders only" in e.reason for e in report.excluded)
        (setup,) = [s for s in report.setups if s.backend == "numpy-mean"]
        assert setup.parity_max_abs_diff < 1e-5  # the same vectors as the static encoder on torch
    finally:
        monkeypatch.undo()
        backends.registry.cache_clear()
