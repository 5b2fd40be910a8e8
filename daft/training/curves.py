"""Training curves: a pair's validations (loss, KL, effective rank, mean cosine, dev nDCG@10) as one PNG.

Each pair's `train_log.jsonl` holds one `validation` record per validation (both stages of daft) and a
`final` record. The x axis counts optimiser steps over the whole run, so a daft run's fine-tune stage starts
where its align stage ended (a dotted line marks the switch); overlaying several pairs compares recipes at
equal steps, which is the fair comparison of budgets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from daft.core.errors import UserError
from daft.core.plots import png, pyplot

LOG_FILE = "train_log.jsonl"
CURVES_FILE = "curves.png"
# (record key, panel title) in panel order; the sixth panel of the 2x3 grid holds the legend.
PANELS = (
    ("loss", "training loss (mean since last validation)"),
    ("kl", "kNN-KL(doc || query)"),
    ("effective_rank", "effective rank of query vectors"),
    ("mean_cosine", "mean pairwise cosine of query vectors"),
    ("nDCG@10", "dev nDCG@10"),
)


@dataclass(frozen=True)
class Curve:
    """One pair's validations: global step, stage and the logged value of every panel's key."""

    name: str
    steps: tuple[int, ...]
    stages: tuple[str, ...]
    values: Mapping[str, tuple[float | None, ...]]

    @property
    def switches(self) -> tuple[tuple[int, str], ...]:
        """(global step, "align -> finetune") where a new stage began (also: index -> finetune)."""
        return tuple(
            (self.steps[i], f"{self.stages[i - 1]} -> {self.stages[i]}")
            for i in range(1, len(self.stages))
            if self.stages[i] != self.stages[i - 1]
        )

    @property
    def stage_switches(self) -> tuple[int, ...]:
        """The global steps at which a new stage began."""
        return tuple(step for step, _ in self.switches)


def _pair_name(path: Path) -> str:
    """pairs/X/train_log.jsonl -> X; a log committed beside others as X.train_log.jsonl -> X."""
    if path.name == LOG_FILE:
        return path.parent.name
    return path.name.removesuffix("." + LOG_FILE) if path.name.endswith("." + LOG_FILE) else path.stem


def read_curve(log: Path, name: str | None = None) -> Curve:
    """The validation records of a `train_log.jsonl` (or of the pair directory holding one)."""
    path = log / LOG_FILE if log.is_dir() else log
    if not path.is_file():
        raise UserError(f"{path}: no training log (train_log.jsonl)")
    records = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError as err:
            raise UserError(f"{path}:{number}: not JSON ({err})") from None
        if isinstance(record, dict) and record.get("event") == "validation":
            records.append(record)
    steps, offset, previous, last = [], 0, None, 0
    for record in records:
        stage = record.get("stage")
        if previous is not None and stage != previous:
            offset += last  # steps_done counts within a stage
        last = int(record.get("steps_done", 0))
        steps.append(offset + last)
        previous = stage
    values = {key: tuple(_number(r.get(key)) for r in records) for key, _ in PANELS}
    return Curve(
        name or _pair_name(path),
        tuple(steps),
        tuple(str(r.get("stage")) for r in records),
        values,
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def plot(curves: Sequence[Curve], *, title: str = "") -> bytes:
    """The panels of `curves`, overlaid, as PNG bytes."""
    plt = pyplot()
    figure, axes = plt.subplots(2, 3, figsize=(15, 8), layout="constrained")
    flat = axes.ravel()
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, curve in enumerate(curves):
        colour = colours[index % len(colours)]
        for axis, (key, _) in zip(flat, PANELS, strict=False):
            points = [(s, v) for s, v in zip(curve.steps, curve.values[key], strict=True) if v is not None]
            if points:
                xs, ys = zip(*points, strict=True)
                axis.plot(xs, ys, marker="o", markersize=3, color=colour, label=curve.name)
            for switch in curve.stage_switches:
                axis.axvline(switch, color=colour, linestyle=":", linewidth=1)
    for axis, (_, label) in zip(flat, PANELS, strict=False):
        axis.set_title(label, fontsize=10)
        axis.set_xlabel("optimiser steps (all stages)")
        axis.grid(alpha=0.3)
    legend = flat[len(PANELS)]
    legend.axis("off")
    handles, labels = flat[0].get_legend_handles_labels()
    if not handles:  # e.g. every curve lacks a loss (zero-shot pairs validate once, untrained)
        handles, labels = flat[-2].get_legend_handles_labels()
    legend.legend(handles, labels, loc="center", fontsize=9, title=legend_title(curves))
    if title:
        figure.suptitle(title)
    return png(figure)


def legend_title(curves: Sequence[Curve]) -> str | None:
    """What the dotted lines mean, named by the stages they separate; None when no curve switches stage."""
    switches = {named for curve in curves for _, named in curve.switches}
    return f"dotted: {', '.join(sorted(switches))}" if switches else None


def save(curves: Sequence[Curve], out: Path, *, title: str = "") -> Path:
    """Plot `curves` into `out` (written atomically); returns `out`."""
    from daft.store.cache import atomic_write_bytes

    atomic_write_bytes(out, plot(curves, title=title))
    return out


def write(pairs: Sequence[Path], out: Path, *, title: str = "") -> Path:
    """Plot the training logs of `pairs` (directories or log files) into `out`; returns `out`."""
    curves = [read_curve(Path(p)) for p in pairs]
    if not any(curve.steps for curve in curves):
        raise UserError(f"no validation records in {', '.join(str(p) for p in pairs)}: nothing to plot")
    return save(curves, out, title=title)
