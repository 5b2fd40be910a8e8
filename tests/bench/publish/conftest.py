"""A synthetic results folder, written once per test session (the reports are read, never changed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.publish.sample import write_results


@pytest.fixture(scope="session")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four runs of suite "demo" on two machines in turn, the last two 40% slower; the first is the baseline."""
    root = tmp_path_factory.mktemp("publish") / "results"
    write_results(root, machines=("cpu-a", "cpu-b"))
    return root
