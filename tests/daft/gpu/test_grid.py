"""The GPU grid's jobs: the recipes it names load as run there, and what comes back fits the device's limits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from daft.core.errors import UserError
from daft.gpu import grid as G
from daft.training.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[3]


def test_the_full_grid_is_three_methods_by_two_l0_starts_plus_two_references() -> None:
    names = {job.name for job in G.FULL}
    methods, starts = ("standard", "daft", "align_only"), ("l0-minilm", "l0-minilm-distilled-idf")
    assert names == {f"{m}-{s}" for m in methods for s in starts} | {G.REFERENCE, "zero_shot-minilm-l6"}
    assert len(G.FULL) == len(names) == 8 and all(not job.overrides for job in G.FULL)


@pytest.mark.parametrize("job", G.FULL, ids=lambda job: job.name)
def test_every_full_job_is_its_gpu_recipe_on_full_wordnet_in_bf16(job: G.Job) -> None:
    recipe = load_recipe(ROOT / job.recipe, job.overrides)
    assert job.recipe == Path("recipes") / "gpu" / f"{job.name}.toml" and recipe.name == job.name
    assert (recipe.recipe.device, recipe.recipe.precision) == ("cuda", "bf16")
    assert (recipe.data.collection, recipe.data.max_train_queries) == ("wordnet", 0)
    assert (recipe.doc_encoder.model, recipe.query_encoder.model) == ("minilm-l6", "minilm-l6")


@pytest.mark.parametrize("job", G.SMOKE, ids=lambda job: job.name)
def test_the_smoke_jobs_run_the_same_recipes_shrunk_onto_a_cpu(job: G.Job) -> None:
    assert job.recipe in {full.recipe for full in G.FULL}
    recipe = load_recipe(ROOT / job.recipe, job.overrides)
    assert (recipe.recipe.device, recipe.data.collection) == ("cpu", "wordnet-small")
    assert (recipe.doc_encoder.model, recipe.query_encoder.model) == ("bert-l2-h128", "bert-l2-h128")
    assert recipe.train.steps_per_epoch * recipe.train.batch_size <= recipe.data.max_train_queries


def test_what_comes_back_fits_the_device_limits() -> None:
    # At most 8 files, named in letters, digits, '.', '_' and '-' (results/device/README.md).
    assert len(G.OUT_FILES) == len(set(G.OUT_FILES)) <= 8
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", name) for name in G.OUT_FILES)


def test_pairs_and_logs_are_named_by_the_job(tmp_path: Path) -> None:
    job = G.FULL[0]
    assert G.pair_dir(tmp_path, job) == tmp_path / "pairs" / job.name
    assert G.log_file(tmp_path, job) == tmp_path / "logs" / f"{job.name}.log"
    assert G.jobs("full") == G.FULL and G.jobs("smoke") == G.SMOKE
    with pytest.raises(UserError, match="unknown GPU grid 'tiny'; known: full, smoke"):
        G.jobs("tiny")
