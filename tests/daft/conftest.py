"""Fixtures shared by the daft tests: the tokenizer-parity corpus and the reference tokenizer."""

from __future__ import annotations

import random
from typing import Any

import pytest

from daft.collections import wordnet
from daft.store import assets

ODD = [
    "café crème brûlée, naïve façade",
    "Ünïcödé ÀÉÎÕÜ ß",
    "東京は日本の首都です 北京 서울",
    "emoji 🙂👍🏽 family 👨‍👩‍👧 flags 🇫🇷",
    "tab\tnewline\ncarriage\rreturn",
    "nul\x00in\x00the middle",
    "zero\u200bwidth\u200cjoiner\u200d",
    "no-break\u00a0space and\u2003em space\u3000ideographic",
    "punctuation!!! (brackets) [more]; 'quotes' \"double\" — dashes – ok?",
    "numbers 1234567890 3.14159 1,000,000",
    "UPPER lower MiXeD",
    "a",
]


def _generated(count: int, seed: int = 0) -> list[str]:
    """Random mixes of the odd samples' characters and words, plus very long texts."""
    rng = random.Random(seed)
    alphabet = "".join(ODD) + "abcdefghijklmnopqrstuvwxyz     "
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80))) for _ in range(count)]
    texts += [" ".join(rng.choice(ODD) for _ in range(400)), "word " * 5000, "x" * 3000]
    return [t for t in texts if t.strip()]


@pytest.fixture(scope="session")
def texts() -> list[str]:
    """About 5,000 texts: WordNet definitions and usage examples, the odd samples, generated mixes."""
    synsets = wordnet.parse_wordnet(wordnet.source_dir())[::40]
    real = [s.definition for s in synsets] + [e for s in synsets for e in s.examples]
    return real + ODD + _generated(1000)


@pytest.fixture(scope="session")
def reference() -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(assets.ensure("minilm-l6"))
