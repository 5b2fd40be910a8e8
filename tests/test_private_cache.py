"""A test session writes only in a private folder of its own: never the user's caches or /tmp/pytest-of-*."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from daft.store import cache
from tests.conftest import _PRIVATE


def test_the_session_writes_in_its_private_folder(tmp_path: Path) -> None:
    assert tmp_path.is_relative_to(_PRIVATE)
    assert cache.cache_root().is_relative_to(_PRIVATE.resolve())
    for variable in ("HF_HOME", "XDG_CACHE_HOME"):
        assert Path(os.environ[variable]).is_relative_to(_PRIVATE)


def test_a_session_leaves_the_users_home_and_temp_folder_as_they_were(tmp_path: Path) -> None:
    home, temp = tmp_path / "home", tmp_path / "temp"
    home.mkdir()
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DAFT_CACHE", "XDG_CACHE_HOME", "HF_HOME")}
    env |= {"HOME": str(home), "TMPDIR": str(temp)}
    test = f"{Path(__file__)}::test_the_session_writes_in_its_private_folder"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", test],
        env=env,
        cwd=Path(__file__).parents[1],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list(home.iterdir()) == [] and list(temp.iterdir()) == []
