"""A bound on what an index built off fp32 may lose: a warning past it, or a failed run when asked."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.report.quality import precision_lines, precision_losses
from bench.results import PairInfo, PrecisionCheck
from bench.suite import load_suite
from daft.core.errors import UserError
from tests.bench.support import report, retrieval, system

SUITE = """
[[encoders]]
name = "m"
model = "minilm-l6"

[retrieval]
collection = "wordnet-small"
doc_precision = "onnx-int8"
{extra}
"""


def _suite(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(SUITE.format(extra=extra))
    return path


def _result(got: float, bound: float | None):
    check = PrecisionCheck("nDCG@10", got, 0.40, bound)
    info = PairInfo(10, "computed", "flat", {}, "onnx-int8", check)
    return retrieval([system("m/dense", {"nDCG@10": got}, pair=info)])


def test_the_loss_is_judged_against_the_bound_only_when_one_is_set() -> None:
    assert PrecisionCheck("nDCG@10", 0.39, 0.40, None).exceeded is False
    assert PrecisionCheck("nDCG@10", 0.399, 0.40, 0.002).exceeded is False
    assert PrecisionCheck("nDCG@10", 0.3936, 0.40, 0.002).exceeded is True
    assert PrecisionCheck("nDCG@10", 0.41, 0.40, 0.0).exceeded is False  # a gain


def test_past_the_bound_the_table_line_warns_and_names_it() -> None:
    (line,) = precision_lines(_result(0.3936, 0.002), "onnx-int8")
    assert line.endswith("WARNING: beyond max_precision_loss 0.002")
    assert precision_losses(_result(0.3936, 0.002)) == [
        "m: dense nDCG@10 lost 0.0064 in onnx-int8, beyond max_precision_loss 0.002"
    ]
    assert (
        precision_losses(_result(0.3995, 0.002)) == []
        and "WARNING" not in precision_lines(_result(0.3995, 0.002), "onnx-int8")[0]
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("max_precision_loss = -0.1", "[retrieval] max_precision_loss: expected a non-negative number"),
        ("max_precision_loss = nan", "[retrieval] max_precision_loss: expected a non-negative number"),
        ('precision_loss = "explode"', "[retrieval] precision_loss: unknown precision-loss policy 'explode'"),
    ],
)
def test_bad_bounds_are_one_line(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_suite(_suite(tmp_path, extra))


@pytest.mark.parametrize(
    ("policy", "got", "code"), [("warn", 0.3936, 0), ("fail", 0.3936, 1), ("fail", 0.3995, 0)]
)
def test_a_run_fails_past_the_bound_only_when_asked(
    tmp_path: Path, monkeypatch, capsys, policy, got, code
) -> None:

    path = _suite(tmp_path, f'max_precision_loss = 0.002\nprecision_loss = "{policy}"')
    written = replace(report(retrieval=_result(got, 0.002)), status="complete")
    monkeypatch.setattr("bench.pipeline.run_suite", lambda *args, **kwargs: written)
    assert main(["run", str(path), "--results", str(tmp_path / "r")]) == code
    err = capsys.readouterr().err
    assert ("lost 0.0064 in onnx-int8, beyond max_precision_loss 0.002" in err) == (code == 1)
