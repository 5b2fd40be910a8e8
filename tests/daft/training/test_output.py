"""The output folder's guards: an interrupted run is resumed or refused; one killed before it saved
anything starts afresh, with or without --resume, and leaves no temporary file behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from daft.core.errors import UserError
from daft.training import checkpoint
from daft.training.output import CHECKPOINT_DIR, check_output


def _killed_during_first_save(output: Path, pid: int) -> Path:
    folder = output / CHECKPOINT_DIR
    (folder / "best-align").mkdir(parents=True)
    (folder / f".{checkpoint.STATE_FILE}.pid{pid}.x1.tmp").write_bytes(b"half a checkpoint")
    (output / "train_log.jsonl").write_text('{"event": "validation"}\n')
    return folder


@pytest.mark.parametrize("resume", [False, True])
def test_a_run_killed_during_its_first_checkpoint_starts_afresh(tmp_path: Path, dead_pid: int, resume: bool):
    output = tmp_path / "pair"
    _killed_during_first_save(output, dead_pid)
    check_output(output, resume=resume, overwrite=False)
    assert not output.exists()  # the temporary file and the stale log are gone with it


def test_a_run_with_a_checkpoint_is_resumed_or_refused(tmp_path: Path, dead_pid: int):
    output = tmp_path / "pair"
    folder = _killed_during_first_save(output, dead_pid)
    checkpoint.save(folder, {"step": 3})
    with pytest.raises(UserError, match="pass --resume"):
        check_output(output, resume=False, overwrite=False)
    check_output(output, resume=True, overwrite=False)
    assert (folder / checkpoint.STATE_FILE).exists() and not list(folder.glob(".*.tmp"))


def test_resume_without_any_run_is_refused(tmp_path: Path):
    with pytest.raises(UserError, match="no checkpoint to resume from"):
        check_output(tmp_path / "pair", resume=True, overwrite=False)
