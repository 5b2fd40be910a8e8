"""The README's claims about committed runs say what those runs' own records show."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_640_step_l0_run_is_told_as_it_ran():
    log = ROOT / "results" / "experiments" / "budget" / "standard-l0-minilm-640.train_log.jsonl"
    validations = [r for r in map(json.loads, log.read_text().splitlines()) if r["event"] == "validation"]
    stopped = next(r["steps_done"] for r in validations if r["stop"])
    best = max(validations, key=lambda r: r["nDCG@10"])["steps_done"]
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert (stopped, best) == (576, 384)
    assert f"ended that run at {stopped} steps and kept its weights from step {best}" in readme
