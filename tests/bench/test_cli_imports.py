"""The CLIs answer without the heavy libraries: `--help`, a suite's error, `--dry-run` and `list` import
neither torch nor scipy, transformers, onnxruntime or faiss (what made `bench --help` take seconds).

Each command runs in a fresh interpreter (an import cannot be undone in this one) and reports which of them
it imported; nothing is timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "scipy", "transformers", "onnxruntime", "faiss", "sentence_transformers", "matplotlib")
PROBE = """
import json, sys
from {package}.__main__ import main
try:
    main({argv!r})
except SystemExit:
    pass
sys.stdout.flush()
print("\\n" + json.dumps([m for m in {heavy!r} if m in sys.modules]))
"""


def _imported(package: str, argv: list[str], tmp_path: Path) -> list[str]:
    env = {**os.environ, "DAFT_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    code = PROBE.format(package=package, argv=argv, heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["run", "--help"],
        ["compare", "--help"],
        ["encode", "--help"],
        ["run", "suites/nope.toml"],
        ["run", "suites/ci_smoke.toml", "--set", "latency.nope=1"],
        ["run", "suites/ci_smoke.toml", "--dry-run"],
        ["list"],
    ],
    ids=" ".join,
)
def test_bench_commands_that_measure_nothing_import_no_heavy_library(argv: list[str], tmp_path: Path):
    assert _imported("bench", argv, tmp_path) == []


@pytest.mark.parametrize("argv", [["--help"], ["train", "recipes/nope.toml"]], ids=" ".join)
def test_daft_commands_that_train_nothing_import_no_heavy_library(argv: list[str], tmp_path: Path):
    assert _imported("daft", argv, tmp_path) == []
