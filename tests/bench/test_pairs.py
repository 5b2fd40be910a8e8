"""The pairs a suite names: trained on demand by their recipe when missing, or a one-line error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.pairs import ensure_pairs, load_retrieval_pair
from bench.suite import load_suite
from daft.core.errors import UserError

RECIPE = """
[recipe]
method = "align_only"
seed = 1

[data]
collection = "{beir}"
max_dev_queries = 4
kl_documents = 20

[negatives]
k = 0

[query_encoder]
type = "static"
model = "{model}"
lr = 1e-2

[doc_encoder]
model = "{model}"

[train]
batch_size = 4
steps_per_epoch = 2
align_max_epochs = 1
"""


def _suite(tmp_path: Path, recipe: bool) -> Path:
    line = 'recipe = "r.toml"\n' if recipe else ""
    path = tmp_path / "s.toml"
    path.write_text(
        f'[[encoders]]\nname = "p"\npair = "pairs/p"\n{line}\n[retrieval]\nmeasures = ["nDCG@10"]\n'
    )
    return path


def test_a_missing_pair_is_trained_by_its_recipe(tmp_path, tiny_beir, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("DAFT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "r.toml").write_text(RECIPE.format(beir=tiny_beir, model=tiny_model_dir))
    suite = load_suite(_suite(tmp_path, recipe=True))
    assert ensure_pairs(suite) == ["p"]
    assert (tmp_path / "pairs" / "p" / "pair.json").is_file()
    assert ensure_pairs(suite) == []  # there now: nothing to train
    pair = load_retrieval_pair(suite.encoder("p"))
    assert pair.query.encode(["potter wheel"]).shape == (1, pair.doc.dim)


def test_a_missing_pair_without_recipe_is_a_user_error(tmp_path):
    suite = load_suite(_suite(tmp_path, recipe=False))
    with pytest.raises(UserError, match="encoder 'p': pair .* not found \\(and no recipe\\)"):
        ensure_pairs(suite)


def test_a_symmetric_model_keeps_its_dim_as_the_latency_runner_does(tmp_path, tiny_model_dir):
    path = tmp_path / "s.toml"
    path.write_text(
        f'[[encoders]]\nname = "m"\nmodel = "{tiny_model_dir}"\ndim = 8\n\n'
        '[retrieval]\nmeasures = ["nDCG@10"]\n'
    )
    pair = load_retrieval_pair(load_suite(path).encoder("m"))
    # The projection the latency cells measured, on both sides: quality and latency describe one encoder.
    assert pair.query.dim == pair.doc.dim == 8
    assert pair.query.encode(["potter wheel"]).shape == (1, 8)
