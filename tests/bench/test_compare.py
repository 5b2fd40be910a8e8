"""The regression gate on synthetic reports with known shifts (and the `compare` CLI's exit codes)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bench import schema
from bench.__main__ import main
from bench.compare import compare, describe, override, workload_differences
from bench.results import CellResult, Report
from bench.retrieval.systems.bm25 import Bm25Settings
from bench.specs import GateSpec
from tests.bench.support import cell_result, report, retrieval, system


def _cell(encoder: str, samples: np.ndarray, batch: int = 1) -> CellResult:
    return cell_result(encoder, batch, samples=samples)


def _report(cells: list[CellResult], reference_ns: float = 1e6, cpu: str = "cpu-a", **fields) -> Report:
    fields.setdefault("status", "complete")
    fields.setdefault("environment", {"cpu": {"model": cpu}})
    return report(cells, reference={"median_ns": reference_ns}, **fields)


RNG = np.random.default_rng(0)
TIGHT = RNG.normal(100_000, 1_000, 200)  # 100 µs +- 1%


def test_a_30_percent_slowdown_with_tight_samples_is_a_regression():
    result = compare(_report([_cell("m", TIGHT)]), _report([_cell("m", TIGHT * 1.3)]), GateSpec())
    (change,) = result.latency
    assert change.verdict == "regression" and change.ratio == pytest.approx(1.3, rel=0.01)
    assert change.low > 1.0 and result.exit_code() == 1 and not result.normalised


def test_the_same_slowdown_with_wildly_noisy_samples_is_not_significant():
    noisy = RNG.lognormal(np.log(100_000), 1.5, 10)
    other = RNG.lognormal(np.log(100_000), 1.5, 10) * 1.3
    (change,) = compare(_report([_cell("m", noisy)]), _report([_cell("m", other)]), GateSpec()).latency
    assert change.verdict == "no change" and "not significant" in change.reason


def test_a_1us_change_on_a_20us_op_is_under_the_noise_floor():
    base = RNG.normal(20_000, 50, 500)
    (change,) = compare(
        _report([_cell("m", base)]), _report([_cell("m", base + 1_000)]), GateSpec(latency_threshold=0.01)
    ).latency
    assert change.low > 1.0  # significant...
    assert change.verdict == "no change" and "noise floor" in change.reason  # ...but under 5 µs


def test_an_improvement_and_a_cell_threshold():
    result = compare(_report([_cell("m", TIGHT), _cell("L0", TIGHT)]), _report([_cell("m", TIGHT / 1.5), _cell("L0", TIGHT * 1.3)]),
                     GateSpec(cell_thresholds={"L0/*": 0.5}))  # fmt: skip
    verdicts = {c.cell.split("/")[0]: c.verdict for c in result.latency}
    assert verdicts == {"m": "improvement", "L0": "no change"} and result.exit_code() == 0


def test_cells_are_matched_by_identity_and_the_rest_listed():
    result = compare(_report([_cell("m", TIGHT), _cell("gone", TIGHT)]), _report([_cell("m", TIGHT), _cell("new", TIGHT, 8)]), GateSpec())  # fmt: skip
    assert [c.cell for c in result.latency] == ["m/torch/cpu/fp32/b1/t1"]
    assert result.only_baseline == ["gone/torch/cpu/fp32/b1/t1"] and result.only_candidate == [
        "new/torch/cpu/fp32/b8/t1"
    ]


def test_one_machine_with_other_libraries_compares_in_reference_units():
    # Twice as slow at everything, the reference workload included (another torch, a slower state): no change.
    old, new = ({"cpu": {"model": "cpu-a"}, "packages": {"torch": v}} for v in ("2.12.0", "2.13.0"))
    result = compare(_report([_cell("m", TIGHT)], environment=old), _report([_cell("m", TIGHT * 2)], reference_ns=2e6, environment=new), GateSpec())  # fmt: skip
    assert result.normalised and result.latency_judged and result.latency[0].verdict == "no change"
    assert result.environment_differences == ["packages.torch: '2.12.0' -> '2.13.0'"]


# Two reports that differ only in the CPU's flags: the committed baseline's AVX-512 EPYC and an AVX2 one.
AVX512 = {"cpu": {"model": "AMD EPYC", "flags": ["avx2", "avx512_bf16", "avx512f", "fma"]}}
AVX2 = {"cpu": {"model": "AMD EPYC", "flags": ["avx2", "fma"]}}


def _machine_reports(tmp_path: Path) -> tuple[Path, Path]:
    queries = {f"q{i}": 0.5 + 0.4 * (i % 2) for i in range(60)}
    bm25 = system("bm25", {"nDCG@10": 0.7}, per_query={"nDCG@10": queries})
    base = _report([_cell("m", TIGHT), _cell("gone", TIGHT)], environment=AVX512, retrieval=retrieval([bm25]))
    # The AVX2 machine is 2.6x slower on the encoder but only 1.5x on the reference: a "regression".
    cand = _report(
        [_cell("m", TIGHT * 2.6)], reference_ns=1.5e6, environment=AVX2, retrieval=retrieval([bm25])
    )
    paths = []
    for name, written in (("base", base), ("cand", replace(cand, started_at="2026-11-29T00:00:00+00:00"))):
        schema.write(written, tmp_path / name)
        paths.append(schema.paths(written, tmp_path / name)[0])
    return paths[0], paths[1]


def test_two_machines_differing_only_in_cpu_flags_judge_quality_not_latency(tmp_path: Path, capsys):
    base, cand = _machine_reports(tmp_path)
    result = compare(_load(base), _load(cand), GateSpec())
    assert not result.latency_judged and result.machine_differences == ["cpu.flags: -avx512_bf16 -avx512f"]
    assert result.latency[0].verdict == "regression" and result.only_baseline  # shown, not counted
    assert result.quality[0].verdict == "no change" and result.exit_code() == 0
    assert main(["compare", str(base), str(cand)]) == 0
    out = capsys.readouterr().out
    assert "not judged: two machines" in out and "regression (reported only)" in out
    assert "latency not judged: the reports come from two machines (cpu.flags: -avx512_bf16 -avx512f)" in out
    assert "verdict: pass (failing on latency, quality; latency not judged: two machines)" in out
    # A gate asked to judge latency alone has nothing it can judge.
    assert main(["compare", str(base), str(cand), "--fail-on", "latency"]) == 2
    assert "latency is not judged between two machines" in capsys.readouterr().err


def test_two_machines_still_fail_on_quality(tmp_path: Path):
    base, cand = _machine_reports(tmp_path)
    worse = replace(_load(cand), retrieval=retrieval([system("bm25", {"nDCG@10": 0.6}, per_query={"nDCG@10": {f"q{i}": 0.4 + 0.4 * (i % 2) for i in range(60)}})]))  # fmt: skip
    result = compare(_load(base), worse, GateSpec())
    assert result.quality[0].verdict == "regression" and result.exit_code() == 1


def _quality_report(tmp_path: Path, name: str, values: dict[str, float], with_per_query: bool = True) -> Path:
    per_query = {"nDCG@10": values} if with_per_query else {}
    bm25 = system("bm25", {"nDCG@10": float(np.mean(list(values.values())))}, per_query=per_query)
    written = replace(
        _report([], retrieval=retrieval([bm25])), started_at=f"2026-11-2{len(name)}T00:00:00+00:00"
    )
    schema.write(written, tmp_path / name)
    return schema.paths(written, tmp_path / name)[0]


def _load(path: Path) -> Report:
    return schema.load(path, per_query=True)


def test_quality_drop_is_tested_per_query(tmp_path: Path):
    base = {f"q{i}": 0.5 + 0.4 * (i % 2) for i in range(60)}
    drop = {q: v - 0.05 for q, v in base.items()}
    b, c = _quality_report(tmp_path, "a", base), _quality_report(tmp_path, "bb", drop)
    result = compare(_load(b), _load(c), GateSpec())
    (change,) = result.quality
    assert change.verdict == "regression" and change.delta == pytest.approx(-0.05) and change.queries == 60
    same = _quality_report(tmp_path, "ccc", base)
    assert compare(_load(b), _load(same), GateSpec()).quality[0].verdict == "no change"
    untested = _quality_report(tmp_path, "dddd", drop, with_per_query=False)
    (change,) = compare(_load(b), _load(untested), GateSpec()).quality
    assert change.verdict == "regression" and "untested" in change.reason  # fmt: skip


def _write(tmp_path: Path, name: str, written: Report) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(schema.to_json(written)))
    return path


def test_cli_exit_codes_markdown_and_json(tmp_path: Path, capsys):
    base = _write(tmp_path, "base", _report([_cell("m", TIGHT)]))
    slow = _write(tmp_path, "slow", _report([_cell("m", TIGHT * 1.3)]))
    assert main(["compare", str(base), str(base)]) == 0
    md, verdict = tmp_path / "summary.md", tmp_path / "verdict.json"
    assert main(["compare", str(base), str(slow), "--markdown", str(md), "--json", str(verdict)]) == 1
    assert "❌ FAIL: 1 latency regression" in md.read_text()
    assert json.loads(verdict.read_text())["verdict"] == "fail"
    assert main(["compare", str(base), str(slow), "--fail-on", "quality"]) == 0  # latency reported only
    out = capsys.readouterr().out
    assert "verdict: pass (failing on quality)" in out and "regression (reported only)" in out
    old = tmp_path / "old.json"
    old.write_text(json.dumps(schema.to_json(_report([_cell("m", TIGHT)])) | {"schema_version": 99}))
    assert main(["compare", str(old), str(base)]) == 2
    assert "schema_version 99 is not supported" in capsys.readouterr().err
    disjoint = _write(tmp_path, "other", _report([_cell("x", TIGHT)]))
    assert main(["compare", str(base), str(disjoint)]) == 2
    assert "nothing to compare" in capsys.readouterr().err
    assert main(["compare", str(base), str(tmp_path / "missing.json")]) == 2


MARKDOWN = """## Benchmark comparison

**❌ FAIL: 1 latency regression (failing on latency, quality)**

| cell | baseline | candidate | change | 95% CI | verdict |
|---|---:|---:|---:|---:|---|
| `m/torch/cpu/fp32/b1/t1` | 100 µs | 200 µs | +100.0% | [+100.0%, +100.0%] | regression |

- thresholds: latency 10% (default), noise floor 5 µs (default), quality 0.005 (default)
- latency: 1 regression, 0 improvements, 1 unchanged
- only in the candidate: 1 cell, e.g. new/torch/cpu/fp32/b1/t1
"""


def test_markdown_snapshot():
    from bench.report.comparison import markdown

    flat = np.full(50, 100_000.0)
    result = compare(_report([_cell("m", flat), _cell("k", flat)]), _report([_cell("m", flat * 2), _cell("k", flat), _cell("new", flat)]), GateSpec())  # fmt: skip
    assert markdown(result) == MARKDOWN


def test_baseline_store_keeps_the_report_and_its_per_query_values(tmp_path: Path):
    values = {f"q{i}": 0.5 for i in range(5)}
    report_path = _quality_report(tmp_path, "run", values)
    stored = schema.store(_load(report_path), tmp_path / "baselines")
    assert stored == tmp_path / "baselines" / "s.json"
    baseline = _load(stored)
    assert json.loads(stored.read_text())["artifacts"] == {"dir": "s", "files": ["per_query.jsonl"]}
    assert (tmp_path / "baselines" / "s" / "per_query.jsonl").read_text().count("\n") == 5
    # The stored baseline is usable by the gate, per-query values included.
    result = compare(baseline, _load(report_path), GateSpec())
    assert result.quality[0].queries == 5 and result.exit_code() == 0


def test_thresholds_come_from_the_baseline_suite_then_the_command_line():
    gated = report(suite={"suite": {"name": "s"}, "gate": {"latency_threshold": 0.3, "noise_floor_us": 2.0, "cell_thresholds": {"L0/*": 0.5}}})  # fmt: skip
    t, sources = override(gated.gate)
    assert (t.latency_threshold, t.noise_floor_us, t.quality_threshold) == (0.3, 2.0, 0.005)
    assert sources["latency_threshold"] == "[gate]" and sources["quality_threshold"] == "default"
    assert t.for_cell("L0/torch/cpu/fp32/b1/t1") == 0.5 and t.for_cell("m/x") == 0.3
    given, sources = override(gated.gate, latency_threshold=0.1, quality_threshold=None, cells={"m/*": 0.2})
    assert given.latency_threshold == 0.1 and sources["latency_threshold"] == "command line"
    assert list(given.cell_thresholds) == ["m/*", "L0/*"]  # the command line's globs tried first
    assert override(_report([]).gate)[0] == GateSpec()  # a report without [gate]: the defaults


def test_the_gate_defaults_have_one_source(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch):
    from bench.specs import GateSpec

    gate = GateSpec(latency_threshold=0.37, noise_floor_us=7.0, quality_threshold=0.02)
    assert override(gate) == (
        gate,
        dict.fromkeys(("latency_threshold", "noise_floor_us", "quality_threshold"), "[gate]"),
    )
    # The help shows the default in force, read from the same GateSpec.
    monkeypatch.setattr("bench.cli.compare.GATE", gate)
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    shown = capsys.readouterr().out
    assert "(0.37," in shown and "(7," in shown and "(0.02," in shown


def test_a_measure_takes_its_own_quality_threshold(tmp_path: Path):
    # A drop of 0.05 in nDCG@10: a regression under the default 0.005, not under the suite's 0.1 for it.
    base = {f"q{i}": 0.5 + 0.4 * (i % 2) for i in range(60)}
    b = _quality_report(tmp_path, "a", base)
    c = _quality_report(tmp_path, "bb", {q: v - 0.05 for q, v in base.items()})
    gated = report(suite={"gate": {"quality_thresholds": {"nDCG@10": 0.1, "R@100": 0.01}}}).gate
    t, sources = override(gated, quality_threshold=0.004)  # the command line's one threshold: the others
    assert (t.for_measure("nDCG@10"), t.for_measure("R@100"), t.for_measure("RR@10")) == (0.1, 0.01, 0.004)
    said = describe(t, sources)
    assert "quality nDCG@10 0.1 ([gate])" in said and "quality 0.004 (command line)" in said
    (change,) = compare(_load(b), _load(c), t, sources=sources).quality
    assert change.verdict == "no change" and "threshold 0.1" in change.reason
    (change,) = compare(_load(b), _load(c), _report([]).gate).quality
    assert change.verdict == "regression"


def test_a_systems_setting_is_workload_by_its_flat_key():
    base = report(suite={"retrieval": {}})
    spec = base.suite.retrieval
    settings = dict(spec.settings)
    settings["bm25"] = Bm25Settings(bm25_k1=1.2)
    settings["dense"] = replace(settings["dense"], batch_size=7)  # how fast, not what: not workload
    cand = replace(base, suite=replace(base.suite, retrieval=replace(spec, settings=settings)))
    assert workload_differences(base, cand) == ["retrieval.bm25_k1: 0.9 -> 1.2"]
