"""Micro-benchmarks (pytest-benchmark): skipped in the normal test run, run by `tox -e benchmarks`.

Every test under this folder is skipped unless pytest runs with `--benchmark-only` (what the tox env passes)
or `DAFT_BENCHMARKS=1` is set (e.g. with `--benchmark-disable`, to smoke-test them once each without timing).
The README here says why this is a hook and not `--ignore` or `--benchmark-skip` in `addopts`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ENABLE_ENV = "DAFT_BENCHMARKS"


def benchmarks_enabled(config: pytest.Config) -> bool:
    """Whether this run is meant to run the micro-benchmarks."""
    return bool(config.getoption("benchmark_only", default=False)) or os.environ.get(ENABLE_ENV) == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the benchmarks of this folder in a normal run."""
    if benchmarks_enabled(config):
        return
    skip = pytest.mark.skip(
        reason=f"micro-benchmark: run with `tox -e benchmarks`, --benchmark-only or {ENABLE_ENV}=1"
    )
    # A conftest's collection hook sees every item of the session, not only this folder's: filter by path.
    for item in items:
        if item.path.resolve().is_relative_to(HERE):
            item.add_marker(skip)
