"""A saved pair's layout, and that the builder finds a side without importing the pair module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from daft.core.errors import UserError
from daft.models.manifest import side_directory


def test_side_directory_checks_the_manifest_and_the_side(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not an encoder pair"):
        side_directory(tmp_path, "query")
    (tmp_path / "pair.json").write_text("{}")
    assert side_directory(tmp_path, "doc") == tmp_path / "doc"
    with pytest.raises(UserError, match="unknown pair side 'both'"):
        side_directory(tmp_path, "both")


def test_the_builder_does_not_import_the_pair_module() -> None:
    code = "import sys, daft.models.build; sys.exit('daft.models.pair' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
