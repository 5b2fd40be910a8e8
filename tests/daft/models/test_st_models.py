"""sentence-transformers and model2vec directories as encoders: detected, loaded, routed, same vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.pairs import load_retrieval_pair
from bench.specs import EncoderSpec
from daft.core.errors import UserError
from daft.export.st_export import export
from daft.models import st_models
from daft.models.build import build
from daft.models.pair import EncoderPair

TEXTS = ["a potter shapes clay on a wheel", "bank", "zebras have black and white stripes"]


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def cls_st_dir(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """A symmetric sentence-transformers model: tiny BERT, CLS pooling, Normalize."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    body = Transformer(str(tiny_model_dir))
    model = SentenceTransformer(modules=[body, Pooling(32, pooling_mode="cls"), Normalize()], device="cpu")
    model.save(str(tmp_path / "st-cls"))
    return tmp_path / "st-cls"


def test_a_sentence_transformers_dir_pools_as_its_config_says(cls_st_dir: Path, tiny_model_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer

    assert st_models.detect(cls_st_dir) == "sentence-transformers"
    assert not st_models.is_asymmetric(cls_st_dir)
    encoder = build({"model": str(cls_st_dir)})
    expected = SentenceTransformer(str(cls_st_dir), device="cpu").encode(TEXTS)
    assert np.abs(encoder.encode(TEXTS) - expected).max() < 1e-5
    # Our own CLS pooling of the same weights agrees; mean pooling would not.
    assert (
        np.abs(build({"model": str(tiny_model_dir), "pooling": "cls"}).encode(TEXTS) - expected).max() < 1e-5
    )
    assert (
        np.abs(build({"model": str(tiny_model_dir), "pooling": "mean"}).encode(TEXTS) - expected).max() > 1e-3
    )


def test_a_router_dir_gives_each_side_its_route(
    tiny_model_dir: Path, tiny_tokenizer_dir: Path, tmp_path: Path
) -> None:
    query = build({"arch": {"hidden": 32}, "type": "static", "tokenizer": str(tiny_tokenizer_dir)})
    doc = build({"model": str(tiny_model_dir)})
    export(EncoderPair(query, doc), tmp_path / "router")
    assert st_models.is_asymmetric(tmp_path / "router")
    spec = EncoderSpec(name="router", model=str(tmp_path / "router"))
    pair = load_retrieval_pair(spec)
    assert np.abs(pair.query.encode(TEXTS) - query.encode(TEXTS)).max() < 1e-5
    assert np.abs(pair.doc.encode(TEXTS) - doc.encode(TEXTS)).max() < 1e-5
    assert pair.query.route == "query" and pair.doc.route == "document"


def test_a_model2vec_dir_gives_model2vecs_vectors(tiny_tokenizer_dir: Path, tmp_path: Path) -> None:
    from model2vec import StaticModel
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer_dir).backend_tokenizer
    vectors = np.random.default_rng(0).normal(size=(tokenizer.get_vocab_size(), 16)).astype(np.float32)
    StaticModel(vectors, tokenizer, normalize=True).save_pretrained(tmp_path / "m2v")
    assert st_models.detect(tmp_path / "m2v") == "model2vec"
    encoder = build({"model": str(tmp_path / "m2v")})
    expected = StaticModel.from_pretrained(tmp_path / "m2v").encode(TEXTS)
    assert encoder.dim == 16
    assert np.abs(encoder.encode(TEXTS) - expected).max() < 1e-5


def test_a_plain_directory_is_not_taken_for_one(tiny_model_dir: Path, tmp_path: Path) -> None:
    assert st_models.detect(tiny_model_dir) is None
    assert st_models.detect(tmp_path / "missing") is None
    with pytest.raises(UserError, match="neither"):
        st_models.load(tiny_model_dir)


@pytest.fixture
def m2v_dir(tiny_tokenizer_dir: Path, tmp_path: Path) -> Path:
    from model2vec import StaticModel
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer_dir).backend_tokenizer
    vectors = np.random.default_rng(0).normal(size=(tokenizer.get_vocab_size(), 16)).astype(np.float32)
    StaticModel(vectors, tokenizer, normalize=True).save_pretrained(tmp_path / "m2v")
    return tmp_path / "m2v"


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _rename_tensor(path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    save_file({f"renamed.{k}": v for k, v in load_file(path).items()}, path)


DAMAGE = {
    "st: truncated weights": ("st", "model.safetensors", _truncate),
    "st: wrong tensor key": ("st", "model.safetensors", _rename_tensor),
    "st: modules.json an object": ("st", "modules.json", lambda p: p.write_text('{"0": "x"}')),
    "m2v: garbled config": ("m2v", "config.json", lambda p: p.write_text('{"normalize": tru')),
    "m2v: garbled tokenizer": ("m2v", "tokenizer.json", lambda p: p.write_text('{"model": 3}')),
    "m2v: truncated weights": ("m2v", "model.safetensors", _truncate),
    "m2v: wrong tensor key": ("m2v", "model.safetensors", _rename_tensor),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_model_folder_is_one_user_error_naming_it(
    case: str, cls_st_dir: Path, m2v_dir: Path, capsys
) -> None:

    kind, name, damage = DAMAGE[case]
    folder = cls_st_dir if kind == "st" else m2v_dir
    damage(folder / name)
    with pytest.raises(UserError, match=str(folder)):
        build({"model": str(folder)})


def test_missing_weights_are_named_even_with_transformers_warnings_silenced(cls_st_dir: Path) -> None:
    from transformers.utils import logging as hf_logging

    _rename_tensor(cls_st_dir / "model.safetensors")
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with pytest.raises(
            UserError, match=r"lacks weights the model needs \(embeddings\..*initialised them"
        ):
            build({"model": str(cls_st_dir)})
    finally:
        hf_logging.set_verbosity(level)


def test_a_checkpoint_without_the_unused_bert_pooler_loads(cls_st_dir: Path) -> None:
    from safetensors.numpy import load_file, save_file

    weights = cls_st_dir / "model.safetensors"
    kept = {k: v for k, v in load_file(weights).items() if not k.startswith("pooler.")}
    assert len(kept) < len(load_file(weights))
    save_file(kept, weights)
    assert build({"model": str(cls_st_dir)}).encode(TEXTS).shape == (3, 32)
