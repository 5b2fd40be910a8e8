"""`python -m daft data info`: the table on stdout, and where the collection lives said truly."""

from __future__ import annotations

from pathlib import Path

import pytest

from daft.__main__ import main


def test_info_of_a_folder_goes_to_stdout_and_says_it_is_read(
    tiny_beir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["data", "info", str(tiny_beir)]) == 0
    out = capsys.readouterr().out
    assert "40 documents" in out and "judged pairs" in out
    assert f"read from {tiny_beir.resolve()}" in out and "cached at" not in out
