"""The reference rows: model2vec over the same L0 table, sentence-transformers over the same transformer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench.backends import Target, parity, prepare
from bench.backends import backend as backend_spec
from daft.core.errors import UserError
from daft.models.encoders import Encoder
from tests.bench.backends.support import STATIC, TEXTS, assert_unit_rows, make, reference

pytest.importorskip("model2vec")
pytest.importorskip("sentence_transformers")


def test_both_are_declared_references() -> None:
    assert backend_spec("model2vec").reference and backend_spec("sentence-transformers").reference
    assert not backend_spec("static").reference


@pytest.mark.parametrize("dim", [None, 8])
def test_model2vec_matches_torch_on_the_same_table(
    tokenizer_dir: Path, tmp_path: Path, dim: int | None
) -> None:
    encoder = make({**STATIC, **({"dim": dim} if dim else {})}, tokenizer_dir)
    with prepare(encoder, Target("model2vec"), workdir=tmp_path) as prepared:
        assert prepared.info["reference"] is True
        rows = prepared.fetch(prepared.forward(prepared.tokenize(list(TEXTS))))
        assert_unit_rows(rows)
        # None of TEXTS has an [UNK] token (model2vec drops those), so the two agree to rounding.
        assert parity(prepared, reference(encoder), TEXTS) < 1e-5


def test_sentence_transformers_matches_torch(tiny_bert: Encoder, tmp_path: Path) -> None:
    with prepare(tiny_bert, Target("sentence-transformers", threads=1), workdir=tmp_path) as prepared:
        assert prepared.info["threads"] == 1 and prepared.info["pooling"] == "mean"
        assert parity(prepared, reference(tiny_bert), TEXTS) < 1e-5
        torch.set_num_threads(2)  # another Prepared's cells ran in between (interleaved rounds)
        prepared.activate()
        assert torch.get_num_threads() == 1


def test_each_refuses_the_other_kind(tiny_bert: Encoder, tiny_static: Encoder, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="model2vec runs static encoders only"):
        prepare(tiny_bert, Target("model2vec"), workdir=tmp_path)
    with pytest.raises(UserError, match="sentence-transformers runs transformer encoders only"):
        prepare(tiny_static, Target("sentence-transformers"), workdir=tmp_path)
