"""The device side of the GPU grid: the training commands, the deadline, and what is written as pairs end."""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path

import pytest

from daft.gpu import grid as G
from daft.gpu import run as R


def test_each_pair_trains_into_its_folder_with_the_jobs_overrides(tmp_path: Path) -> None:
    job = G.SMOKE[0]
    command = R.train_command(job, tmp_path)
    assert command[1:6] == ["-m", "daft", "train", job.recipe.as_posix(), "--overwrite"]
    assert command[6:8] == ["--set", f"recipe.output={tmp_path / 'pairs' / job.name}"]
    assert command[8::2] == ["--set"] * len(job.overrides) and tuple(command[9::2]) == job.overrides


def _sleeper(job: G.Job) -> list[str]:
    """A stand-in training: `ok` exits 0, `fail` exits 3, anything else sleeps a minute."""
    code = {"ok": "pass", "fail": "raise SystemExit(3)"}.get(job.name, "import time; time.sleep(60)")
    return [sys.executable, "-c", f"print('{job.name}'); {code}"]


def test_the_deadline_stops_what_runs_and_skips_what_waits(tmp_path: Path) -> None:
    jobs = [G.Job(name, Path(f"{name}.toml")) for name in ("ok", "fail", "slow", "waits")]
    seen: list[list[str]] = []
    outcomes = R.schedule(
        jobs,
        command=_sleeper,
        work=tmp_path,
        workers=3,
        deadline_s=3.0,
        on_end=lambda outcomes: seen.append([o.status for o in outcomes]),
        poll_s=0.05,
    )
    # "waits" starts when "ok" or "fail" has ended, and is stopped with "slow" at the deadline.
    assert [o.status for o in outcomes] == ["ok", "failed", "stopped", "stopped"]
    assert [o.rc for o in outcomes][:2] == [0, 3]
    assert all(o.started_s is not None and o.ended_s >= o.started_s for o in outcomes)
    assert seen[-1] == ["ok", "failed", "stopped", "stopped"] and len(seen) == 3  # two ends, then the last
    assert G.log_file(tmp_path, jobs[2]).read_text().startswith("slow\n")  # then its KeyboardInterrupt


def test_jobs_past_the_deadline_are_not_started(tmp_path: Path) -> None:
    jobs = [G.Job(name, Path(f"{name}.toml")) for name in ("slow", "waits")]
    outcomes = R.schedule(
        jobs, command=_sleeper, work=tmp_path, workers=1, deadline_s=1.0, on_end=lambda _: None, poll_s=0.05
    )
    assert [o.status for o in outcomes] == ["stopped", "not started"]
    assert outcomes[1].to_dict() == {
        "name": "waits",
        "recipe": "waits.toml",
        "overrides": [],
        "status": "not started",
        "rc": None,
        "started_s": None,
        "ended_s": None,
        "seconds": None,
    }


def _trained(work: Path, job: G.Job, *, steps: bool) -> None:
    pair = G.pair_dir(work, job)
    pair.mkdir(parents=True)
    manifest = {
        "method": job.name.split("-")[0],
        "query": {"type": "static", "parameters": 1000},
        "recipe": {"query_encoder": {"model": "minilm-l6"}},
        "metrics": {"final": {"test": {"nDCG@10": 0.5 if job.name == G.REFERENCE else 0.4}}},
        "training": {"stages": {}},
    }
    (pair / "pair.json").write_text(json.dumps(manifest), "utf-8")
    records = [{"event": "validation", "stage": "finetune", "steps_done": s, "nDCG@10": 0.1} for s in (0, 8)]
    (pair / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records if steps), "utf-8")
    G.log_file(work, job).parent.mkdir(parents=True, exist_ok=True)
    G.log_file(work, job).write_text("console\n", "utf-8")


def test_what_finished_comes_back_in_the_named_files(tmp_path: Path) -> None:
    work, out = tmp_path / "work", tmp_path / "out"
    reference, zero_shot, stopped = (
        G.Job(n, Path(f"{n}.toml")) for n in (G.REFERENCE, "zero_shot-x", "daft-x")
    )
    _trained(work, reference, steps=True)
    _trained(work, zero_shot, steps=False)
    G.log_file(work, stopped).write_text("interrupted\n", "utf-8")
    outcomes = [R.Outcome(reference, "ok", 0, 0.0, 5.0), R.Outcome(zero_shot, "ok", 0, 0.0, 1.0)]
    outcomes.append(R.Outcome(stopped, "stopped", 130, 0.0, 9.0))
    R.bring_back(outcomes, work, out, {"grid": "test", "_started": 0.0})
    assert sorted(p.name for p in out.iterdir()) == sorted(G.OUT_FILES)
    rows = json.loads((out / G.SUMMARY_JSON).read_text("utf-8"))
    assert [(r["pair"], r["of_reference"]) for r in rows] == [(G.REFERENCE, 1.0), ("zero_shot-x", 0.8)]
    assert "| zero_shot-x |" in (out / G.SUMMARY_MARKDOWN).read_text("utf-8")
    with tarfile.open(out / G.ARCHIVE) as tar:
        assert sorted(tar.getnames()) == [
            "daft-x/daft-x.log",
            f"{G.REFERENCE}/pair.json",
            f"{G.REFERENCE}/{G.REFERENCE}.log",
            f"{G.REFERENCE}/train_log.jsonl",
            "zero_shot-x/pair.json",
            "zero_shot-x/train_log.jsonl",
            "zero_shot-x/zero_shot-x.log",
        ]
    record = json.loads((out / G.RECORD).read_text("utf-8"))
    assert [j["status"] for j in record["jobs"]] == ["ok", "ok", "stopped"] and "_started" not in record
    assert record["grid"] == "test" and record["elapsed_s"] > 0


@pytest.mark.parametrize("workers", [1, 4])
def test_each_training_gets_its_share_of_the_cores_and_the_carried_paths(
    tmp_path: Path, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    monkeypatch.setattr(R.os, "cpu_count", lambda: 16)
    env = R.environment(tmp_path / "cache", tmp_path / "site", tmp_path / "repo", workers)
    assert env["DAFT_CACHE"] == str(tmp_path / "cache") and env["HF_HUB_OFFLINE"] == "1"
    assert env["PYTHONPATH"].split(":") == [str(tmp_path / "site"), str(tmp_path / "repo"), "/elsewhere"]
    assert env["OMP_NUM_THREADS"] == str(16 // workers)
