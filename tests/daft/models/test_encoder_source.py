"""The encoder-source parser shared by recipes and suites: every check and message, tested once here.

The callers' own tests keep a thin check that their errors name their file, table and key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from daft.core.config import Arch, Loader, read_toml
from daft.core.errors import UserError
from daft.models.encoder_source import EncoderSource, parse_source


@dataclass(frozen=True)
class _Keys:  # the keys a source table may hold, with the callers' defaults
    type: str = "transformer"
    model: str | None = None
    arch: Any = None
    tokenizer: str | None = None
    pair: Path | None = None
    path: Path | None = None
    pooling: str = "mean"
    dim: int | None = None


def _parse(tmp_path: Path, text: str, **options: Any) -> EncoderSource:
    path = tmp_path / "f.toml"
    path.write_text("[enc]\n" + text)
    loader = Loader(path, {})
    return parse_source(loader.table("[enc]", ("enc",), read_toml(path, "test")["enc"], _Keys), **options)


def test_model_arch_pair_and_path(tmp_path: Path) -> None:
    (tmp_path / "saved").mkdir()
    assert _parse(tmp_path, 'model = "m"\npooling = "cls"\ndim = 8\n') == EncoderSource(
        "transformer", "m", None, None, None, None, "cls", 8
    )
    arch = _parse(tmp_path, 'arch = { layers = 1, hidden = 8, heads = 2 }\ntokenizer = "t"\n')
    assert (arch.arch, arch.tokenizer, arch.saved) == (Arch(1, 8, 2, 32), "t", False)
    pair = _parse(tmp_path, 'pair = "saved"\n')
    assert (pair.pair, pair.path, pair.saved) == (tmp_path / "saved", None, True)
    assert _parse(tmp_path, 'path = "saved"\n').path == tmp_path / "saved"
    # A caller's default model stands in for a table without a source.
    assert _parse(tmp_path, "", default_model="minilm-l6").model == "minilm-l6"


def test_a_pair_that_need_not_exist_is_made_absolute(tmp_path: Path) -> None:
    assert _parse(tmp_path, 'pair = "later"\n', pair_must_exist=False).pair == tmp_path / "later"


def test_the_message_lists_the_callers_sources(tmp_path: Path) -> None:
    with pytest.raises(
        UserError, match="model/arch/pair: expected exactly one of model, arch or pair, got none"
    ):
        _parse(tmp_path, "", sources=("model", "arch", "pair"))


_ARCH = "arch = { layers = 1, hidden = 8, heads = 2 }\n"
ERRORS = {
    "none": ("", "[enc] model/arch/pair/path: expected exactly one of model, arch, pair or path, got none"),
    "two": ('model = "a"\npath = "p"\n', "[enc] model/arch/pair/path: expected exactly one of model, arch, pair or path, got model and path"),
    "missing pair": ('pair = "nope"\n', "[enc] pair: directory not found: nope (looked next to the file and in the current one)"),
    "path is a file": ('path = "f.toml"\n', "[enc] path: not a directory: "),
    "type with pair": ('pair = "."\ntype = "static"\n', "[enc] type: only used with model or arch (a saved encoder brings its own)"),
    "pooling with path": ('path = "."\npooling = "cls"\n', "[enc] pooling: only used with model or arch"),
    "unknown type": ('model = "a"\ntype = "rnn"\n', "[enc] type: unknown encoder type 'rnn' (known: transformer, static)"),
    "unknown pooling": ('model = "a"\npooling = "max"\n', "[enc] pooling: unknown pooling 'max' (known: mean, cls)"),
    "static with cls": ('model = "a"\ntype = "static"\npooling = "cls"\n', "[enc] pooling: a static encoder always mean-pools, got \"cls\""),
    "static with arch": ('type = "static"\ntokenizer = "t"\n' + _ARCH, "[enc] type/arch: a static encoder averages a model's token embeddings; give model, not arch"),
    "arch without tokenizer": (_ARCH, "[enc] tokenizer: required with arch (a random-init model still needs a vocabulary)"),
    "tokenizer without arch": ('model = "a"\ntokenizer = "t"\n', "[enc] tokenizer: only used with arch (a model or pair brings its own tokenizer)"),
    "arch unknown key": ('tokenizer = "t"\narch = { layer = 1, hidden = 8, heads = 2 }\n', "[enc] arch.layer: unknown key 'layer'; did you mean 'layers'?"),
    "arch missing key": ('tokenizer = "t"\narch = { hidden = 8, heads = 2 }\n', "[enc] arch.layers: required key is missing"),
    "arch heads": ('tokenizer = "t"\narch = { layers = 1, hidden = 10, heads = 4 }\n', "[enc] arch.hidden/arch.heads: hidden (10) must be a multiple of heads (4)"),
    "arch not a table": ('tokenizer = "t"\narch = 2\n', "[enc] arch: expected a table, got 2"),
    "zero dim": ('model = "a"\ndim = 0\n', "[enc] dim: expected a positive integer, got 0"),
}  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), list(ERRORS.values()), ids=list(ERRORS))
def test_errors_name_file_table_and_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(UserError) as caught:
        _parse(tmp_path, text)
    assert str(caught.value).startswith(f"{tmp_path / 'f.toml'}: {expected}"), str(caught.value)
