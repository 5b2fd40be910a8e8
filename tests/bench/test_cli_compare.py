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

from bench.__main__ import CRASH, main
from bench.report import schema
from bench.results import Report
from tests.bench.support import cell_result, report, retrieval, system

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

    monkeypatch.setattr("bench.cli.compare.compare", broken)
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
