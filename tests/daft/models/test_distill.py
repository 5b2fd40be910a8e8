"""Where an L0 table starts: distilled rows, idf weights, and the recipe keys that choose them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from daft.core.errors import UserError
from daft.models import distill
from daft.models.build import build, from_model, static_from_model


def test_distilled_row_is_the_model_output_for_the_token_alone(tiny_model_dir: Path) -> None:
    source = from_model(tiny_model_dir).eval()
    table = distill.distilled_table(source, batch_size=7)  # a batch size that does not divide the vocabulary
    tok = source.tokenizer
    word = tok.convert_tokens_to_ids("wheel")
    features = tok(["wheel"], return_tensors="pt")
    with torch.inference_mode():
        expected = source.pool(**{k: features[k] for k in source.input_names})[0]
    assert table.shape == (len(tok), source.hidden_size)
    torch.testing.assert_close(table[word], expected, rtol=1e-5, atol=1e-6)


def test_idf_is_bm25s_and_largest_for_unseen_tokens(tiny_tokenizer_dir: Path) -> None:
    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    texts = ["potter wheel", "potter clay", "potter red", "wheel"]
    idf = distill.idf_weights(tok, texts, batch_size=3)
    ids = tok.convert_tokens_to_ids(["potter", "wheel", "clay", "guitar"])
    df = {"potter": 3, "wheel": 2, "clay": 1, "guitar": 0}
    for token_id, (_, n) in zip(ids, df.items(), strict=True):
        assert idf[token_id].item() == pytest.approx(
            torch.log1p(torch.tensor((4 - n + 0.5) / (n + 0.5))).item()
        )
    assert idf[ids[3]] == idf.max()
    assert idf[ids[0]] < idf[ids[1]] < idf[ids[2]]


def test_static_init_choices_give_different_tables(tiny_model_dir: Path, tiny_beir: Path) -> None:
    plain = static_from_model(tiny_model_dir).embedding.weight
    distilled = static_from_model(tiny_model_dir, init="distilled").embedding.weight
    weighted = static_from_model(
        tiny_model_dir, init="distilled", token_weights="idf", idf_collection=str(tiny_beir)
    ).embedding.weight
    assert not torch.allclose(plain, distilled)
    ratio = (weighted.norm(dim=1) / distilled.norm(dim=1)).detach()
    assert ratio.max() > ratio.min()  # scaled row by row, not by one constant
    # the direction of every row is kept: idf only scales
    torch.testing.assert_close(
        torch.nn.functional.normalize(weighted, dim=1), torch.nn.functional.normalize(distilled, dim=1)
    )


def test_idf_multiplies_each_row_by_its_tokens_idf(tiny_model_dir: Path, tiny_beir: Path) -> None:
    plain = static_from_model(tiny_model_dir).embedding.weight.detach()
    weighted = static_from_model(tiny_model_dir, token_weights="idf", idf_collection=str(tiny_beir))
    idf = distill.idf_weights(weighted.tokenizer, distill.corpus_texts(str(tiny_beir)))
    # a rare token's row grows more than a frequent one's: scaled by the idf, not divided by it
    torch.testing.assert_close(weighted.embedding.weight.detach(), plain * idf.unsqueeze(1))


def test_build_passes_the_init_through(tiny_model_dir: Path) -> None:
    spec = {"type": "static", "model": str(tiny_model_dir), "init": "distilled"}
    expected = static_from_model(tiny_model_dir, init="distilled").embedding.weight
    torch.testing.assert_close(build(spec).embedding.weight, expected)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"init": "pca"}, "unknown L0 init 'pca'"),
        ({"token_weights": "zipf"}, "unknown token_weights 'zipf'"),
        ({"token_weights": "idf"}, "needs a collection"),
    ],
)
def test_bad_init_is_a_user_error(tiny_model_dir: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        static_from_model(tiny_model_dir, **kwargs)


def test_random_init_keeps_the_models_shape_and_nothing_else(tiny_model_dir: Path) -> None:
    plain = static_from_model(tiny_model_dir).embedding.weight
    random = static_from_model(tiny_model_dir, init="random", seed=3).embedding.weight
    assert random.shape == plain.shape
    assert abs(random.std().item() - 0.02) < 0.005  # BERT's initialiser scale, not the model's rows
    torch.testing.assert_close(
        static_from_model(tiny_model_dir, init="random", seed=3).embedding.weight, random
    )
    assert not torch.equal(static_from_model(tiny_model_dir, init="random", seed=4).embedding.weight, random)
    spec = {"type": "static", "model": str(tiny_model_dir), "init": "random", "seed": 3}
    torch.testing.assert_close(build(spec).embedding.weight, random)
