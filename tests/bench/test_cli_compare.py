"""`python -m bench compare` as CI runs it: its exit code is the verdict, so bad input and bugs must never
read as one (1 regression, 2 unusable input, 3 a bug)."""

from __future__ import annotations

import copy
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench import schema
from bench.__main__ import CRASH, main
from bench.results import Report
from tests.bench.support import cell_result, make_suite, report, retrieval, system

RNG = np.random.default_rng(1)
TIGHT = RNG.normal(100_000, 1_000, 60)


def _report(*scales: float, status: str = "complete", **fields: Any) -> Report:
    cells = [cell_result(f"e{i}", samples=TIGHT * scale) for i, scale in enumerate(scales)]
    quality = retrieval([system("bm25", {"nDCG@10": 0.5})])
    written = report(cells, retrieval=quality, reference={"median_ns": 1e6}, **fields)
    return replace(written, status=status, environment={"cpu": {"model": "cpu-a"}})


def _write(path: Path, data: Report | dict[str, Any]) -> Path:
    path.write_text(json.dumps(schema.to_json(data) if isinstance(data, Report) else data))
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return _write(tmp_path / "base.json", _report(1.0, 1.0))


def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


MALFORMED = [
    (("cells", 0, "samples", "end_to_end", 0), math.nan),
    (("cells", 0, "samples", "end_to_end", 0), None),
    (("cells", 0, "samples", "end_to_end", 0), -1.0),
    (("cells", 0, "samples", "end_to_end", 0), "x"),
    (("cells", 0, "samples", "end_to_end"), "x"),
    (("cells", 0, "end_to_end", "p90"), "x"),
    (("cells", 0, "end_to_end", "median_ci"), []),
    (("cells",), None),
    (("suite",), None),
    (("suite", "gate"), {"latency_threshold": "x"}),
    (("suite", "gate"), {"noise_floor_us": math.nan}),
    (("suite", "gate"), {"no_such_key": 1}),
    (("retrieval", "systems", 0, "aggregate"), None),
    (("retrieval", "systems", 0, "aggregate", "nDCG@10"), None),
    (("reference", "median_ns"), "x"),
    (("environment",), []),
]


@pytest.mark.parametrize("side", ["candidate", "baseline"])
@pytest.mark.parametrize("path, value", MALFORMED, ids=lambda v: repr(v)[:30])
def test_a_malformed_report_is_one_line_and_exit_2(tmp_path, base, capsys, side, path, value):
    bad = _write(tmp_path / "bad.json", _set(json.loads(base.read_text()), path, value))
    args = [str(base), str(bad)] if side == "candidate" else [str(bad), str(base)]
    assert main(["compare", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {bad}: malformed report")


def test_a_report_that_is_a_list_is_exit_2(tmp_path, base, capsys):
    bad = _write(tmp_path / "bad.json", [json.loads(base.read_text())])  # type: ignore[arg-type]
    assert main(["compare", str(base), str(bad)]) == 2
    assert "not a daft-bench report" in capsys.readouterr().err


def test_fuzzed_reports_never_crash(tmp_path, base):
    # Every top-level value and every value of a cell, replaced by each JSON type: a verdict or exit 2.
    data = json.loads(base.read_text())
    paths = [(key,) for key in data] + [("cells", 0, key) for key in data["cells"][0]]
    for path in paths:
        for value in (None, [], {}, "x", -1, True):
            bad = _write(tmp_path / "bad.json", _set(data, path, value))
            assert main(["compare", str(base), str(bad)]) in (0, 1, 2), (path, value)


def test_an_unexpected_exception_is_exit_3_with_its_traceback(base, capsys, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("bench.compare.compare", broken)  # imported by the command when it runs
    assert main(["compare", str(base), str(base)]) == CRASH == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: a bug" in err and "exit code 3" in err


def test_the_json_verdict_is_strict_json(tmp_path, capsys):
    # Mostly-zero baseline samples: resampled medians hit 0 and the ratio's upper bound is infinite.
    zeros = report([cell_result("m", samples=[0.0] * 9 + [100_000.0] * 10)], reference={"median_ns": 1e6})
    ones = report([cell_result("m", samples=[100_000.0] * 19)], reference={"median_ns": 1e6})
    base = _write(tmp_path / "base.json", replace(zeros, status="complete"))
    cand = _write(tmp_path / "cand.json", replace(ones, status="complete"))
    verdict = tmp_path / "verdict.json"
    assert main(["compare", str(base), str(cand), "--json", str(verdict)]) in (0, 1)
    text = verdict.read_text()
    json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name} in the verdict"))
    assert json.loads(text)["latency"][0]["high"] is None


# --- what the candidate lacks ---------------------------------------------------------------------------------


def _lines(capsys: pytest.CaptureFixture) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_a_partial_candidate_fails_the_gate_unless_allowed(tmp_path, capsys):
    base = _write(tmp_path / "base.json", _report(1.0, 1.0, 1.0, 1.0))
    partial = _write(tmp_path / "partial.json", _report(1.0, status="partial"))
    assert main(["compare", str(base), str(partial)]) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert err == (
        f"error: {partial}: the candidate report is partial (an interrupted run; measured cells: 1); "
        "the gate judges complete runs (--allow-partial judges what it has)"
    )
    assert main(["compare", str(partial), str(base)]) == 2  # nor is a partial baseline a reference
    assert "the baseline report is partial" in capsys.readouterr().err
    assert main(["compare", str(base), str(partial), "--allow-partial"]) == 0
    lines = _lines(capsys)
    assert (
        "missing from the candidate: 3 latency cells, e.g. e1/torch/cpu/fp32/b1/t1 (listed only "
        in "\n".join(lines)
    )
    assert lines[-1] == "verdict: pass (failing on latency, quality)"


def test_a_skipped_candidate_says_why(tmp_path, capsys):
    base = _write(tmp_path / "base.json", _report(1.0))
    skipped = _write(tmp_path / "skip.json", _report(status="skipped", skip_reason="no CUDA device"))
    assert main(["compare", str(base), str(skipped)]) == 2
    assert "the candidate report is skipped (nothing measured: no CUDA device)" in capsys.readouterr().err


def test_cells_missing_from_a_complete_candidate_fail_under_fail_on(tmp_path, capsys):
    base = _write(tmp_path / "base.json", _report(1.0, 1.0, 1.0))
    fewer = _write(tmp_path / "fewer.json", _report(1.0))
    verdict = tmp_path / "verdict.json"
    assert main(["compare", str(base), str(fewer), "--json", str(verdict)]) == 1
    lines = _lines(capsys)
    assert (
        lines[-1] == "verdict: FAIL: 2 latency cells missing from the candidate (failing on latency, quality)"
    )
    assert (
        "missing from the candidate: 2 latency cells, e.g. e1/torch/cpu/fp32/b1/t1 (fails the gate)" in lines
    )
    assert json.loads(verdict.read_text())["only_baseline"] == [
        "e1/torch/cpu/fp32/b1/t1",
        "e2/torch/cpu/fp32/b1/t1",
    ]
    assert main(["compare", str(base), str(fewer), "--fail-on", "quality"]) == 0
    assert (
        "missing from the candidate: 2 latency cells, e.g. e1/torch/cpu/fp32/b1/t1 (reported only)"
        in _lines(capsys)
    )


def test_a_quality_system_missing_from_the_candidate_fails_under_quality(tmp_path, capsys):
    base = _write(tmp_path / "base.json", _report(1.0))
    no_quality = _write(tmp_path / "cand.json", replace(_report(1.0), retrieval=None))
    assert main(["compare", str(base), str(no_quality), "--fail-on", "quality"]) == 1
    assert _lines(capsys)[-1] == (
        "verdict: FAIL: 1 quality measure missing from the candidate (failing on quality)"
    )
    assert main(["compare", str(base), str(no_quality), "--fail-on", "latency"]) == 0


# --- what the verdict says ------------------------------------------------------------------------------------


def test_the_verdict_names_its_thresholds_and_their_sources(tmp_path, capsys):
    gate = {
        "latency_threshold": 0.3,
        "noise_floor_us": 5.0,
        "quality_threshold": 0.005,
        "cell_thresholds": {},
    }
    gated = _report(1.0, suite={"suite": {"name": "s"}, "gate": gate})
    base = _write(tmp_path / "base.json", gated)
    args = ["--quality-threshold", "0.01", "--cell-threshold", "e0/*=0.5"]
    assert main(["compare", str(base), str(base), *args]) == 0
    assert (
        "thresholds: latency 30% ([gate]), noise floor 5 µs (default), quality 0.01 (command line), "
        "cells e0/* 50% (command line)"
    ) in _lines(capsys)


def test_counts_are_worded_and_a_pass_reads_as_a_pass(tmp_path, capsys):
    base = _write(tmp_path / "base.json", _report(1.0, 1.0, 1.0, 1.0, 1.0))
    mixed = _write(tmp_path / "mixed.json", _report(1.3, 1 / 1.5, 1 / 1.5, 1 / 1.5, 1.0))
    markdown = tmp_path / "summary.md"
    assert main(["compare", str(base), str(mixed), "--markdown", str(markdown)]) == 1
    assert "latency: 1 regression, 3 improvements, 1 unchanged" in _lines(capsys)
    better = _write(tmp_path / "better.json", _report(1 / 1.5, 1.0, 1.0, 1.0, 1.0))
    assert main(["compare", str(base), str(better), "--markdown", str(markdown)]) == 0
    lines = _lines(capsys)
    assert "latency: 0 regressions, 1 improvement, 4 unchanged" in lines
    assert lines[-1] == "verdict: pass (failing on latency, quality)"
    assert "**✅ pass (failing on latency, quality)**" in markdown.read_text()


# --- issue 21: odd thresholds, unjudgeable cells, other workloads, huge numbers --------------------------------


@pytest.mark.parametrize(
    "flags",
    [
        ["--threshold", "nan"],
        ["--threshold", "-0.1"],
        ["--threshold", "inf"],
        ["--noise-floor-us", "nan"],
        ["--noise-floor-us", "-5"],
        ["--quality-threshold", "nan"],
        ["--cell-threshold", "*=nan"],
        ["--cell-threshold", "*=-1"],
        ["--cell-threshold", "*=inf"],
    ],
)
def test_a_non_finite_or_negative_threshold_is_refused_not_a_pass(tmp_path, base, capsys, flags):
    slower = _write(tmp_path / "slow.json", _report(3.0, 3.0))
    assert main(["compare", str(base), str(slower)]) == 1  # a 3x slowdown, judged
    try:
        code = main(["compare", str(base), str(slower), *flags])
    except SystemExit as stop:  # argparse refuses a bad value of a typed option
        code = stop.code
    assert code == 2 and "finite number >= 0" in capsys.readouterr().err


def test_a_cell_threshold_that_is_nan_or_negative_is_one_line_exit_2(tmp_path, base, capsys):
    slower = _write(tmp_path / "slow.json", _report(3.0, 3.0))
    assert main(["compare", str(base), str(slower), "--cell-threshold", "e*=nan"]) == 2
    assert "finite number >= 0" in capsys.readouterr().err


def test_a_candidate_cell_with_no_samples_is_missing_not_dropped(tmp_path, base, capsys):
    data = _set(json.loads(base.read_text()), ("cells", 1, "samples", "end_to_end"), [])
    empty = _write(tmp_path / "empty.json", data)
    assert main(["compare", str(base), str(empty)]) == 1
    out = capsys.readouterr().out
    assert "missing from the candidate: 1 latency cell" in out and "(no samples)" in out


@pytest.mark.parametrize("field, value", [("batch_size", -1), ("batch_size", 0), ("threads", -2)])
def test_a_cell_record_with_a_negative_size_is_malformed(tmp_path, base, capsys, field, value):
    data = json.loads(base.read_text())
    for where in ("cells", "excluded"):
        for record in data[where]:
            record["cell"][field] = value
    bad = _write(tmp_path / "bad.json", data)
    assert main(["compare", str(base), str(bad)]) == 2
    assert "malformed report" in capsys.readouterr().err


@pytest.mark.parametrize(
    "path",
    [
        ("cells", 0, "samples", "end_to_end", 0),
        ("cells", 0, "end_to_end", "median"),
        ("reference", "median_ns"),
    ],
)
@pytest.mark.parametrize("command", ["compare", "report"])
def test_a_400_digit_integer_is_malformed_not_a_crash(tmp_path, base, capsys, path, command):
    bad = _write(tmp_path / "bad.json", _set(json.loads(base.read_text()), path, 10**400))
    args = [str(base), str(bad)] if command == "compare" else [str(bad)]
    assert main([command, *args]) == 2
    assert "too large" in capsys.readouterr().err


@pytest.mark.parametrize(
    "table, key, value",
    [
        ("queries", "source", "wordnet-small:dev"),
        ("queries", "max_length", 64),
        ("retrieval", "collection", "/data/scifact"),
    ],
)
def test_reports_of_different_workloads_are_refused_unless_allowed(tmp_path, capsys, table, key, value):
    suite = {
        "suite": {"name": "s"},
        "queries": {"source": "wordnet-small:test", "max_length": 32},
        "retrieval": {"collection": "wordnet-small", "split": "test", "systems": ["bm25"]},
    }
    other = copy.deepcopy(suite)
    other[table][key] = value
    base = _write(tmp_path / "base.json", replace(_report(1.0), suite=make_suite(suite)))
    cand = _write(tmp_path / "cand.json", replace(_report(3.0), suite=make_suite(other)))
    assert main(["compare", str(base), str(cand)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{table}.{key}" in err[0] and "--allow-other-workload" in err[0]
    assert main(["compare", str(base), str(cand), "--allow-other-workload"]) == 1
    assert f"different workloads: {table}.{key}" in " ".join(capsys.readouterr().out.split())


def test_another_collection_content_is_another_workload(tmp_path, capsys):
    base = _write(tmp_path / "base.json", _report(1.0))
    changed = _report(1.0)
    changed = replace(changed, retrieval=replace(changed.retrieval, collection_fingerprint="e" * 16))
    assert main(["compare", str(base), str(_write(tmp_path / "cand.json", changed))]) == 2
    assert "collection content" in capsys.readouterr().err


def test_which_encoders_are_tested_against_each_other_is_not_the_workload(tmp_path, capsys):
    """A suite that adds [retrieval] comparisons measures what it measured before: its baseline still holds."""
    suite = {"suite": {"name": "s"}, "retrieval": {"collection": "wordnet-small"}}
    more = copy.deepcopy(suite)
    more["retrieval"]["comparisons"] = (("a", "b"),)
    base = _write(tmp_path / "base.json", replace(_report(1.0), suite=make_suite(suite)))
    cand = _write(tmp_path / "cand.json", replace(_report(1.0), suite=make_suite(more)))
    assert main(["compare", str(base), str(cand)]) == 0, capsys.readouterr().err


def test_a_requested_tuning_is_judged_by_what_it_resolved_to(tmp_path, capsys):
    """The CI baseline said tune_split = "dev"; the default became "auto", which tuned on dev: same workload."""
    suite = {"suite": {"name": "s"}, "retrieval": {"collection": "wordnet-small", "tune_split": "dev"}}
    auto = copy.deepcopy(suite)
    auto["retrieval"]["tune_split"] = "auto"
    report = _report(1.0)
    report = replace(report, retrieval=replace(report.retrieval, tune_split="dev"))
    base = _write(tmp_path / "base.json", replace(report, suite=make_suite(suite)))
    assert (
        main(
            [
                "compare",
                str(base),
                str(_write(tmp_path / "auto.json", replace(report, suite=make_suite(auto)))),
            ]
        )
        == 0
    )
    capsys.readouterr()
    cv = replace(
        report, suite=make_suite(auto), retrieval=replace(report.retrieval, tune_split="test", tune_folds=5)
    )
    assert main(["compare", str(base), str(_write(tmp_path / "cv.json", cv))]) == 2
    assert "hybrid tuning: alpha tuned on dev -> alpha by 5-fold CV on test" in capsys.readouterr().err


def test_a_suite_gate_threshold_that_is_infinite_is_refused(tmp_path):
    from bench.suite import load_suite
    from daft.core.errors import UserError

    suite = tmp_path / "s.toml"
    suite.write_text(
        '[suite]\nname = "s"\n[queries]\nfile = "q.txt"\n[[encoders]]\nname = "e"\nmodel = "minilm-l6"\n'
        '[gate]\ncell_thresholds = { "L0/*" = inf }\n'
    )
    (tmp_path / "q.txt").write_text("a query\n")
    with pytest.raises(UserError, match="finite non-negative"):
        load_suite(suite)


def test_a_verdict_destination_is_checked_before_the_comparison(tmp_path, base, capsys):
    slower = _write(tmp_path / "slow.json", _report(3.0, 3.0))
    for flag in ("--json", "--markdown"):
        assert main(["compare", str(base), str(slower), flag, str(tmp_path)]) == 2
        captured = capsys.readouterr()
        assert f"{flag} {tmp_path}: is a directory" in captured.err and "latency" not in captured.out


@pytest.mark.parametrize(("scale", "code"), [(3.0, 1), (1.0, 2)])
def test_a_verdict_file_lost_at_the_end_never_turns_the_verdict_into_a_crash(
    tmp_path, base, capsys, monkeypatch, scale, code
):
    from bench.cli import compare as cli

    def full_disk(path, text):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli, "atomic_write_text", full_disk)
    cand = _write(tmp_path / "cand.json", _report(scale, scale))
    assert main(["compare", str(base), str(cand), "--json", str(tmp_path / "v.json")]) == code
    assert "v.json: could not write (No space left on device)" in capsys.readouterr().err
