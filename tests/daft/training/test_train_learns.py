"""Training must learn: on a tiny task, a few dozen steps lower the loss and raise dev nDCG@10 for every method.

The end-to-end tests elsewhere check files and log keys; these would catch an optimiser that never steps or a
loss with the wrong sign. In-batch negatives only (k = 0), so no BM25 run and no JVM: each test takes seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from daft.models.build import build
from daft.training import train as train_module
from daft.training.recipe import Recipe, load_recipe

RECIPE = """
[recipe]
method = "{method}"
output = "{output}"
seed = 3

[data]
collection = "{collection}"
kl_documents = 40
query_max_length = 8
doc_max_length = 16

[negatives]
k = 0

[query_encoder]
type = "static"
model = "{model}"
lr = 3e-2

[doc_encoder]
arch = {{ layers = 1, hidden = 32, heads = 2, intermediate = 64 }}
tokenizer = "{tok}"
lr = 1e-3

[train]
batch_size = 8
steps_per_epoch = 24
warmup_steps = 0
align_max_epochs = 1
finetune_max_epochs = 1
"""
MIN_GAIN = 0.1  # dev nDCG@10, absolute: the untrained pair is near chance (about 0.05 here)


@pytest.fixture
def learn(tmp_path, tiny_beir, tiny_tokenizer_dir, tiny_model_dir, monkeypatch):
    """Train `method`; returns (recipe, output, each step's loss in order, the validation records)."""
    monkeypatch.setenv("DAFT_CACHE", str(tmp_path / "cache"))
    losses: list[float] = []
    real_step = train_module.Trainer._step

    def recorded(self, *args):
        losses.append(real_step(self, *args))
        return losses[-1]

    monkeypatch.setattr(train_module.Trainer, "_step", recorded)

    def run(method: str, train_keys: str = "") -> tuple[Recipe, Path, list[float], list[dict]]:
        path = tmp_path / f"{method}.toml"
        text = RECIPE.format(
            method=method,
            output=tmp_path / method,
            collection=tiny_beir,
            model=tiny_model_dir,
            tok=tiny_tokenizer_dir,
        )
        path.write_text(text + train_keys)  # [train] is the recipe's last table
        recipe = load_recipe(path)
        output = train_module.train(recipe)
        log = [json.loads(line) for line in (output / "train_log.jsonl").read_text().splitlines()]
        return recipe, output, losses, [r for r in log if r["event"] == "validation"]

    return run


def _assert_learns(losses: list[float], validations: list[dict], stage: str) -> None:
    quarter = len(losses) // 4
    first, last = sum(losses[:quarter]) / quarter, sum(losses[-quarter:]) / quarter
    assert last < 0.6 * first, f"loss did not fall: {first:.3f} -> {last:.3f}"
    ndcg = [r["nDCG@10"] for r in validations if r["stage"] == stage]
    assert max(ndcg[1:]) >= ndcg[0] + MIN_GAIN, f"{stage}: dev nDCG@10 did not rise: {ndcg}"


@pytest.mark.parametrize("method", ["standard", "daft"])
def test_finetune_lowers_the_loss_and_raises_ndcg(learn, method):
    recipe, output, losses, validations = learn(method)
    _assert_learns(losses[-recipe.train.steps_per_epoch :], validations, "finetune")
    final = json.loads((output / "pair.json").read_text())["metrics"]["final"]["dev"]["nDCG@10"]
    assert final >= validations[0]["nDCG@10"] + MIN_GAIN  # the shipped weights are the learned ones


def test_align_lowers_the_loss_raises_ndcg_and_freezes_the_doc_encoder(learn):
    recipe, output, losses, validations = learn("align_only")
    assert len(losses) == recipe.train.steps_per_epoch
    _assert_learns(losses, validations, "align")
    from safetensors.torch import load_file

    saved = load_file(output / "doc" / "model.safetensors")
    initial = build(recipe.encoder_spec("doc_encoder")).model.state_dict()
    assert saved.keys() == initial.keys()
    for name, tensor in initial.items():
        assert torch.equal(saved[name], tensor), name


def test_align_stops_by_the_metric_and_margin_it_is_given(learn):
    """align_metric = nDCG@10 with a margin: `improved` follows nDCG@10, and the stage stops on it."""
    keys = 'align_metric = "nDCG@10"\nalign_min_delta = 0.05\neval_every = 4\n'
    _, _, _, validations = learn("align_only", keys)
    best = None
    for record in validations:
        value = record["nDCG@10"]
        expected = best is None or value > best * 1.05
        assert record["improved"] == expected, record
        best = value if expected else best
    assert len(validations) > 2  # the rule was exercised beyond the first validation
    assert validations[-1]["stop"] or len(validations) == 24 // 4 + 1  # stopped, or ran its one epoch


@pytest.mark.parametrize(
    "index", ['teacher = "none"', "listwise_weight = 1.0", 'negatives = "sampled"\nsampled_negatives = 8']
)
def test_fixed_index_lowers_the_loss_raises_ndcg_and_keeps_the_index(learn, index):
    """The query side alone, against the document encoder's vectors of the whole corpus (a teacher or not)."""
    keys = f"index_max_epochs = 1\n\n[index]\n{index}\n"
    recipe, output, losses, validations = learn("fixed_index", keys)
    assert len(losses) == recipe.train.steps_per_epoch
    _assert_learns(losses, validations, "index")
    pair = json.loads((output / "pair.json").read_text())
    assert pair["training"]["stages"]["index"]["index"]["documents"] == 40
    assert pair["metrics"]["final"]["dev"]["nDCG@10"] >= validations[0]["nDCG@10"] + MIN_GAIN
    from safetensors.torch import load_file

    saved = load_file(output / "doc" / "model.safetensors")
    initial = build(recipe.encoder_spec("doc_encoder")).model.state_dict()
    assert all(torch.equal(saved[name], tensor) for name, tensor in initial.items())
