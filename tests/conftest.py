"""Fixtures shared by the daft and bench tests: tiny, offline, made in the test session."""

from __future__ import annotations

from pathlib import Path

import pytest

WORDS = [
    "a",
    "an",
    "the",
    "of",
    "to",
    "in",
    "on",
    "for",
    "with",
    "and",
    "or",
    "is",
    "was",
    "are",
    "be",
    "by",
    "at",
    "as",
    "it",
    "this",
    "that",
    "from",
    "query",
    "document",
    "potter",
    "wheel",
    "clay",
    "bank",
    "river",
    "money",
    "run",
    "walk",
    "fast",
    "slow",
    "quick",
    "brown",
    "fox",
    "dog",
    "cat",
    "jumps",
    "over",
    "lazy",
    "capital",
    "france",
    "paris",
    "city",
    "big",
    "small",
    "red",
    "green",
    "blue",
    "word",
    "sense",
    "meaning",
    "example",
    "spin",
    "shape",
    "hand",
    "tool",
    "music",
    "guitar",
    "play",
]


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A WordPiece tokenizer over ~70 words (+ specials), saved like any Hugging Face tokenizer."""
    from transformers import BertTokenizerFast

    directory = tmp_path_factory.mktemp("tiny-tokenizer")
    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *WORDS,
        *[f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"],
    ]
    vocab += list("abcdefghijklmnopqrstuvwxyz0123456789.,;:!?'\"-")
    (directory / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    BertTokenizerFast(vocab_file=str(directory / "vocab.txt"), do_lower_case=True).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_tokenizer_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BertModel (1 layer, 32 wide) saved with its tokenizer, like a model asset."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    directory = tmp_path_factory.mktemp("tiny-model")
    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    config = BertConfig(
        vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    torch.manual_seed(0)
    BertModel(config, add_pooling_layer=False).save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory
