"""Which recipes the GPU grid trains, the CPU-sized smoke version of it, and the files it brings back.

The full grid: {standard, daft, align_only} x {L0 from minilm-l6's input embeddings, L0 from its distilled,
idf-weighted table}, the fine-tuned reference (minilm-l6 on both sides) and the zero-shot minilm-l6, all on
full `wordnet` (recipes/gpu/, sized in base-gpu.toml). The smoke grid runs two of those recipes on a CPU,
shrunk by overrides to `wordnet-small`, bert-l2-h128 and a few steps, so that a test of the whole path
(pack, unpack, train, bring back) takes a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from daft.core.errors import UserError

RECIPES = Path("recipes") / "gpu"  # relative to the repository root
REFERENCE = "standard-minilm-l6"  # the others' test nDCG@10 is reported as a fraction of this pair's

# What comes back from the device (at most 8 files): the experiment table twice, the overlaid curves, every
# pair's log, manifest, curves and console output in one archive, and the run's own record.
SUMMARY_JSON = "summary.json"
SUMMARY_MARKDOWN = "summary.md"
CURVES = "curves.png"
ARCHIVE = "pairs.tar.gz"
RECORD = "grid.json"
OUT_FILES = (SUMMARY_JSON, SUMMARY_MARKDOWN, CURVES, ARCHIVE, RECORD)


@dataclass(frozen=True)
class Job:
    """One pair of the grid: its recipe (relative to the repository root) and the overrides applied to it."""

    name: str
    recipe: Path
    overrides: tuple[str, ...] = ()


def _job(name: str, overrides: tuple[str, ...] = ()) -> Job:
    return Job(name, RECIPES / f"{name}.toml", overrides)


# Started in this order, so the longest first (estimates: results/device/README.md) and the workers run out
# of work together; the reference goes early since every other pair is read against it.
FULL = tuple(
    _job(name)
    for name in (
        "daft-l0-minilm-distilled-idf",  # ~213 s alone
        "daft-l0-minilm",  # ~189 s
        "standard-l0-minilm-distilled-idf",  # ~153 s
        "standard-minilm-l6",  # ~133 s
        "standard-l0-minilm",  # ~129 s
        "align_only-l0-minilm-distilled-idf",  # ~139 s
        "align_only-l0-minilm",  # ~115 s
        "zero_shot-minilm-l6",  # ~55 s
    )
)

SMOKE_OVERRIDES = (
    "recipe.device=cpu",
    "recipe.precision=auto",
    "data.collection=wordnet-small",
    "data.max_train_queries=64",
    "data.max_dev_queries=20",
    "data.kl_documents=50",
    "query_encoder.model=bert-l2-h128",
    "doc_encoder.model=bert-l2-h128",
    "train.batch_size=8",
    "train.steps_per_epoch=2",
    "train.warmup_steps=1",
    "train.align_max_epochs=1",
    "train.finetune_max_epochs=1",
)
# Both kinds of stage, the distilled + idf start and the untrained reference, in the fewest recipes.
SMOKE = tuple(_job(name, SMOKE_OVERRIDES) for name in ("daft-l0-minilm-distilled-idf", "zero_shot-minilm-l6"))

GRIDS: dict[str, tuple[Job, ...]] = {"full": FULL, "smoke": SMOKE}


def jobs(grid: str) -> tuple[Job, ...]:
    """The jobs of grid `grid` (full | smoke)."""
    try:
        return GRIDS[grid]
    except KeyError:
        raise UserError(f"unknown GPU grid {grid!r}; known: {', '.join(GRIDS)}") from None


def pair_dir(work: Path, job: Job) -> Path:
    """Where a job's pair is trained on the device (its folder name is the job's name)."""
    return work / "pairs" / job.name


def log_file(work: Path, job: Job) -> Path:
    """Where a job's console output goes on the device."""
    return work / "logs" / f"{job.name}.log"
