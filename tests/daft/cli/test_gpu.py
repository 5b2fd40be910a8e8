"""`daft gpu-pack` / `daft gpu-run`: the device's mistakes are one line and exit 2, before anything trains."""

from __future__ import annotations

from pathlib import Path

import pytest

from daft.__main__ import main


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    return " ".join(capsys.readouterr().err.split())


def test_a_missing_pack_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["gpu-run", str(tmp_path / "nope"), str(tmp_path / "out"), "--work", str(tmp_path / "w")]) == 2
    )
    assert f"error: {tmp_path / 'nope'}: not a complete GPU pack (missing)" in _error(capsys)
    assert not (tmp_path / "out").exists()


def test_bad_run_settings_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gpu-run", str(tmp_path), str(tmp_path / "out"), "--workers", "0"]) == 2
    assert "--workers must be at least 1" in _error(capsys)


def test_a_python_without_pinned_wheels_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gpu-pack", str(tmp_path / "pack"), "--python", "3.9"]) == 2
    assert "no pinned wheels for Python 3.9; known: 3.12, 3.11" in _error(capsys)
