"""The device side of the GPU grid: unpack, train every pair under one deadline, bring the results back.

Each pair trains in its own `python -m daft train` process (a crash costs that pair only), `workers` at a
time: a step of these small encoders leaves the GPU idle while the CPU tokenises, so pairs run side by
side. Whenever a pair ends, every file of `grid.OUT_FILES` is rewritten in the output folder, so whatever
stops the run (its deadline, the machine's own limit) leaves the finished pairs there. At the deadline the
running pairs are interrupted (SIGINT, then SIGKILL) and the run fails with a one-line error naming them.
"""

from __future__ import annotations

import io
import json
import os
import platform
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daft.core.errors import UserError
from daft.core.progress import console
from daft.gpu import grid as G
from daft.gpu.unpack import unpack
from daft.store.cache import atomic_write_bytes, atomic_write_text

STOP_GRACE_S = 20.0  # how long an interrupted pair may take to exit before it is killed


@dataclass(eq=False)
class Outcome:
    """How one job went: ok | failed | stopped (at the deadline) | not started; times from the run's start."""

    job: G.Job
    status: str = "not started"
    rc: int | None = None
    started_s: float | None = None
    ended_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        seconds = None if self.started_s is None or self.ended_s is None else self.ended_s - self.started_s
        return {
            "name": self.job.name,
            "recipe": self.job.recipe.as_posix(),
            "overrides": list(self.job.overrides),
            "status": self.status,
            "rc": self.rc,
            "started_s": self.started_s,
            "ended_s": self.ended_s,
            "seconds": seconds,
        }


def train_command(job: G.Job, work: Path) -> list[str]:
    """The command that trains `job`'s pair into its folder under `work`."""
    command = [sys.executable, "-m", "daft", "train", job.recipe.as_posix(), "--overwrite"]
    command += ["--set", f"recipe.output={G.pair_dir(work, job)}"]
    for override in job.overrides:
        command += ["--set", override]
    return command


def schedule(
    jobs: Sequence[G.Job],
    *,
    command: Callable[[G.Job], list[str]],
    work: Path,
    workers: int,
    deadline_s: float,
    on_end: Callable[[list[Outcome]], None],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    poll_s: float = 0.5,
) -> list[Outcome]:
    """Run `command(job)` for each job, `workers` at a time, in order; stop what runs at `deadline_s`.

    `on_end(outcomes)` is called whenever a job ends and once at the end. Each job's output goes to
    `grid.log_file(work, job)`.
    """
    start = time.monotonic()
    outcomes = [Outcome(job) for job in jobs]
    pending, running = list(outcomes), {}
    try:
        while pending or running:
            while pending and len(running) < workers and time.monotonic() - start < deadline_s:
                outcome = pending.pop(0)
                log = G.log_file(work, outcome.job)
                log.parent.mkdir(parents=True, exist_ok=True)
                with open(log, "wb") as handle:
                    running[outcome] = subprocess.Popen(
                        command(outcome.job), stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=cwd
                    )
                outcome.status, outcome.started_s = "running", time.monotonic() - start
                console.print(f"{outcome.started_s:6.0f} s  start {outcome.job.name}", highlight=False)
            time.sleep(poll_s)
            for outcome, process in list(running.items()):
                if (rc := process.poll()) is not None:
                    del running[outcome]
                    outcome.rc, outcome.ended_s = rc, time.monotonic() - start
                    outcome.status = "ok" if rc == 0 else "failed"
                    console.print(
                        f"{outcome.ended_s:6.0f} s  {outcome.status} {outcome.job.name} (exit {rc})",
                        highlight=False,
                    )
                    on_end(outcomes)
            if time.monotonic() - start >= deadline_s and (running or pending):
                console.print(
                    f"[bold red]deadline of {deadline_s:.0f} s reached[/]: stopping {len(running)} pairs"
                )
                _stop(running, start)
                break
    finally:
        for process in running.values():  # an exception here (Ctrl-C) must not leave trainings behind
            process.kill()
    for outcome in pending:
        outcome.status = "not started"
    on_end(outcomes)
    return outcomes


def _stop(running: dict[Outcome, subprocess.Popen[bytes]], start: float) -> None:
    """Interrupt the running jobs (their runner writes what it can), kill those that outlast the grace."""
    for process in running.values():
        process.send_signal(signal.SIGINT)
    until = time.monotonic() + STOP_GRACE_S
    for outcome, process in running.items():
        try:
            outcome.rc = process.wait(timeout=max(0.0, until - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            outcome.rc = process.wait()
        outcome.status, outcome.ended_s = "stopped", time.monotonic() - start
    running.clear()


def bring_back(outcomes: Sequence[Outcome], work: Path, out: Path, record: dict[str, Any]) -> None:
    """(Re)write every file of `grid.OUT_FILES` in `out` from what has finished so far."""
    from daft.models.manifest import MANIFEST
    from daft.training import curves, summary

    out.mkdir(parents=True, exist_ok=True)
    done = [G.pair_dir(work, o.job) for o in outcomes if o.status == "ok"]
    done = [pair for pair in done if (pair / MANIFEST).is_file()]
    reference = next((pair for pair in done if pair.name == G.REFERENCE), None)
    rows = summary.rows_of(done, reference)
    summary.write(rows, markdown_path=out / G.SUMMARY_MARKDOWN, json_path=out / G.SUMMARY_JSON)
    trained = [pair for pair in done if curves.read_curve(pair).steps]  # zero_shot validates nothing
    if trained:
        curves.write(trained, out / G.CURVES, title=f"GPU grid ({record['grid']}): {len(trained)} pairs")
    atomic_write_bytes(out / G.ARCHIVE, _archive(outcomes, work))
    elapsed = time.monotonic() - record["_started"]
    public = {key: value for key, value in record.items() if not key.startswith("_")}
    body = {**public, "elapsed_s": elapsed, "jobs": [o.to_dict() for o in outcomes]}
    atomic_write_text(out / G.RECORD, json.dumps(body, indent=1) + "\n")


def _archive(outcomes: Sequence[Outcome], work: Path) -> bytes:
    """Each job's console log, training log, manifest and curves as `<name>/<file>` in a tar.gz."""
    # Not daft.training's names: importing it needs ir_measures, which only the trainings' path holds.
    from daft.models.manifest import MANIFEST
    from daft.training.curves import CURVES_FILE, LOG_FILE

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for outcome in outcomes:
            pair = G.pair_dir(work, outcome.job)
            files = [G.log_file(work, outcome.job), pair / LOG_FILE, pair / MANIFEST, pair / CURVES_FILE]
            for path in files:
                if path.is_file():
                    tar.add(path, arcname=f"{outcome.job.name}/{path.name}")
    return buffer.getvalue()


def environment(cache_root: Path, site: Path, root: Path, workers: int) -> dict[str, str]:
    """The trainings' environment: the unpacked cache, the wheels and this tree first on the path, offline."""
    env = dict(os.environ)
    paths = [str(site), str(root), *filter(None, [env.get("PYTHONPATH")])]
    env.update(DAFT_CACHE=str(cache_root), PYTHONPATH=os.pathsep.join(paths), PYTHONUNBUFFERED="1")
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    # Each training's torch CPU work (distillation, exact ranking) gets its share of the cores.
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // max(1, workers))))
    return env


def machine() -> dict[str, Any]:
    """What ran the grid: Python, torch, the GPU (or none), CPUs."""
    import torch

    cuda = torch.cuda.is_available()
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "cpus": os.cpu_count(),
    }


def run_grid(
    pack: Path, out: Path, *, root: Path, budget_s: float, workers: int, work: Path | None = None
) -> list[Outcome]:
    """Unpack `pack` into a fresh cache under `work`, train its grid within `budget_s`, write `out`.

    A UserError when any pair did not finish (after `out` holds what did).
    """
    started = time.monotonic()
    work = Path(work) if work is not None else Path(tempfile.mkdtemp(prefix="daft-gpu-grid-"))
    cache_root, site = work / "cache", work / "site"
    if cache_root.exists():
        raise UserError(f"{work}: already holds a cache; give an empty work folder")
    with console.status(f"unpacking {pack}"):
        meta = unpack(pack, cache_root, site)
    grid = G.jobs(meta["grid"])
    record = {
        "grid": meta["grid"],
        "budget_s": budget_s,
        "workers": workers,
        "machine": machine(),
        "pack": {key: meta.get(key) for key in ("python", "sizes", "assets", "cache", "wheels")},
        "_started": started,
    }
    console.print(
        f"GPU grid {meta['grid']}: {len(grid)} pairs, {workers} at a time, {budget_s:.0f} s budget "
        f"({record['machine']['gpu'] or 'no GPU'}); unpacked in {time.monotonic() - started:.1f} s",
        highlight=False,
    )
    outcomes = schedule(
        grid,
        command=lambda job: train_command(job, work),
        work=work,
        workers=workers,
        deadline_s=budget_s - (time.monotonic() - started),
        on_end=lambda outcomes: bring_back(outcomes, work, out, record),
        env=environment(cache_root, site, root, workers),
        cwd=root,
    )
    from daft.training.summary import print_table

    print_table(json.loads((out / G.SUMMARY_JSON).read_text("utf-8")))
    failed = [o for o in outcomes if o.status != "ok"]
    if failed:
        named = ", ".join(f"{o.job.name} {o.status}" for o in failed)
        raise UserError(
            f"GPU grid {meta['grid']}: {len(failed)} of {len(outcomes)} pairs did not finish ({named}); "
            f"what finished is in {out}, logs in {out / G.ARCHIVE}"
        )
    return outcomes
