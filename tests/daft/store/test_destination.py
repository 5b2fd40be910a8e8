"""Destinations checked before the work: one line naming the flag and the path, never a late traceback."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from daft.core.errors import UserError
from daft.store import destination
from daft.store.destination import writable_dir, writable_file


@pytest.fixture
def read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every folder refuses new files, as a read-only or `chattr +i` folder does (root ignores modes)."""

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(destination.tempfile, "mkstemp", refuse)


def test_a_missing_folder_is_checked_where_it_would_be_made_without_a_trace(tmp_path: Path) -> None:
    assert writable_dir(tmp_path / "a" / "b", "--results") == tmp_path / "a" / "b"
    assert writable_file(tmp_path / "c" / "out.json", "--json") == tmp_path / "c" / "out.json"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda t: writable_dir(_file(t), "--results"), "--results .*: .* is not a directory"),
        (lambda t: writable_dir(_file(t) / "sub", "--results"), "a-file is not a directory"),
        (lambda t: writable_file(t, "--json"), "--json .*: is a directory, not a file"),
        (lambda t: writable_file(_file(t) / "x.png", "--out"), "--out .*x.png: .*a-file is not a directory"),
        (
            lambda t: writable_file(_file(t), "--sentence-transformers", new_dir=True),
            "is a file, not a directory",
        ),
    ],
)
def test_a_bad_destination_is_one_user_error(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(UserError, match=message):
        make(tmp_path)


def test_a_folder_that_refuses_files_is_named(tmp_path: Path, read_only: None) -> None:
    with pytest.raises(UserError, match=r"--results .*: cannot write in .* \(Permission denied\)"):
        writable_dir(tmp_path, "--results")
    with pytest.raises(UserError, match="--out .*: cannot write in"):
        writable_file(tmp_path / "curves.png", "--out")


def _file(folder: Path) -> Path:
    path = folder / "a-file"
    path.write_text("x")
    return path


def test_commands_check_their_destinations_before_any_work(tmp_path: Path, capsys, monkeypatch) -> None:
    from bench.__main__ import main as bench_main
    from daft.__main__ import main as daft_main

    def no_work(*args, **kwargs):
        raise AssertionError("the work started before its destination was checked")

    monkeypatch.setattr("bench.pipeline.run_suite", no_work)
    blocker = _file(tmp_path)
    suite = Path(__file__).parents[3] / "suites" / "ci_smoke.toml"
    cases = [
        (bench_main, ["run", str(suite), "--results", str(blocker)], "--results"),
        (
            daft_main,
            ["export", str(tmp_path / "no-pair"), "--sentence-transformers", str(blocker)],
            "is a file",
        ),
        (daft_main, ["export", str(tmp_path / "no-pair"), "--onnx", "--output", str(tmp_path)], "--output"),
        (daft_main, ["curves", str(tmp_path), "--out", str(blocker / "c.png")], "--out"),
    ]
    for main, args, flag in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and flag in err[0] and str(blocker if flag != "--output" else tmp_path) in err[0]
