"""The real model assets, built through the registry (fetched once into the cache)."""

import json

import pytest
import torch

from daft.models.build import build
from daft.store import assets

pytestmark = pytest.mark.assets


def test_minilm_l3_conversion_matches_onnxruntime():
    path = assets.ensure("minilm-l3")
    recorded = json.loads((path / "conversion.json").read_text())
    assert recorded["max_abs_diff_vs_onnxruntime"] < 1e-4
    config = json.loads((path / "config.json").read_text())
    assert (config["num_hidden_layers"], config["hidden_size"], config["num_attention_heads"]) == (3, 384, 12)
    encoder = build({"model": "minilm-l3"})
    a, b, c = encoder.encode(
        [
            "A man is playing a guitar on the street.",
            "Someone plays an acoustic guitar outdoors.",
            "The central bank raised interest rates.",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.3  # a working paraphrase model, not just matching numbers


def test_bert_l2_h128_is_a_clean_bert_model():
    from transformers import BertModel

    path = assets.ensure("bert-l2-h128")
    model, info = BertModel.from_pretrained(path, add_pooling_layer=False, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 128
    assert not (path / "heads.pt").exists()  # a pickle we never need is not even unpacked


def test_static_l0_from_minilm_table():
    encoder = build({"type": "static", "model": "minilm-l6"})
    assert encoder.dim == 384 and encoder.parameter_count() == 30522 * 384
    vectors = encoder.encode(["potter's wheel", "a wheel for pottery", "interest rates"])
    assert torch.allclose(torch.from_numpy(vectors).norm(dim=1), torch.ones(3))
