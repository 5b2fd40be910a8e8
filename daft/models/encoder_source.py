"""Where an encoder comes from, as a recipe table or a suite entry writes it: one parser, one set of messages.

A source is exactly one of `model` (an asset name, a hub id or a path), `arch` (random weights of a BERT shape,
with `tokenizer`), `pair` (one side of a saved pair) or `path` (a saved encoder), plus `type`, `pooling` and an
optional projection `dim`. Each caller says which sources it accepts and whether a pair must already exist (a
suite may name a pair that its recipe will train). The names here are the ones `daft.models.build` builds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from daft.core.config import Arch, Table, parse_arch, show

ENCODER_TYPES = ("transformer", "static")
POOLINGS = ("mean", "cls")
SOURCES = ("model", "arch", "pair", "path")


@dataclass(frozen=True)
class EncoderSource:
    """A parsed source: exactly one of model, arch (with tokenizer), pair or path is set; paths are absolute."""

    type: str
    model: str | None
    arch: Arch | None
    tokenizer: str | None
    pair: Path | None
    path: Path | None
    pooling: str
    dim: int | None

    @property
    def saved(self) -> bool:
        """Whether it is a saved encoder (pair or path), which brings its own type, pooling and tokenizer."""
        return self.pair is not None or self.path is not None


def existing(t: Table, key: str, reference: str) -> str | None:
    """The absolute path `reference` names, next to the file that wrote it or else here; None if neither."""
    next_to_file = t.loader.local(os.path.expanduser(reference), always=True, at=(*t.where, key))
    for candidate in (next_to_file, os.path.abspath(os.path.expanduser(reference))):
        if os.path.exists(candidate):
            return candidate
    return None


def _one_of(names: Sequence[str]) -> str:
    return f"{', '.join(names[:-1])} or {names[-1]}"


def parse_source(
    t: Table,
    *,
    sources: Sequence[str] = SOURCES,
    default_model: str | None = None,
    pair_must_exist: bool = True,
) -> EncoderSource:
    """The source `t` writes (its keys `sources`, type, pooling, tokenizer, dim); errors name file, table, key."""
    given = [k for k in sources if k in t]
    if len(given) > 1 or (not given and default_model is None):
        got = " and ".join(given) if given else "none"
        t.fail(tuple(sources), f"expected exactly one of {_one_of(sources)}, got {got}")
    if "pair" in t or "path" in t:
        for key in ("type", "pooling", "tokenizer"):
            if key in t:
                t.fail(key, "only used with model or arch (a saved encoder brings its own)")
    kind = t.choice("type", ENCODER_TYPES, "encoder type")
    model = pair = path = arch = tokenizer = None
    if "model" in t or not given:
        model = t.loader.local(t.string("model", default_model), at=(*t.where, "model"))
    if "pair" in t:  # a suite's pair need not exist yet: its recipe trains it when missing
        pair = Path(
            _directory(t, "pair")
            if pair_must_exist
            else t.loader.local(t.string("pair"), always=True, at=(*t.where, "pair"))
        )
    if "path" in t:
        path = Path(_directory(t, "path"))
    if "arch" in t:
        arch = parse_arch(t.loader.table(t.label, (*t.where, "arch"), t.data["arch"], Arch, "arch."))
    if "tokenizer" in t:
        tokenizer = t.loader.local(t.string("tokenizer"), at=(*t.where, "tokenizer"))
    if arch is not None and tokenizer is None:
        t.fail("tokenizer", "required with arch (a random-init model still needs a vocabulary)")
    if arch is None and tokenizer is not None:
        t.fail("tokenizer", "only used with arch (a model or pair brings its own tokenizer)")
    pooling = t.choice("pooling", POOLINGS, "pooling")
    if kind == "static" and arch is not None:
        t.fail(("type", "arch"), "a static encoder averages a model's token embeddings; give model, not arch")
    if kind == "static" and pooling != "mean":
        t.fail("pooling", f"a static encoder always mean-pools, got {show(pooling)}")
    dim = t.integer("dim", minimum=1) if "dim" in t else None
    return EncoderSource(kind, model, arch, tokenizer, pair, path, pooling, dim)


def _directory(t: Table, key: str) -> str:
    reference = t.string(key)
    found = existing(t, key, reference)
    if found is None:
        t.fail(key, f"directory not found: {reference} (looked next to the file and in the current one)")
    if not os.path.isdir(found):
        t.fail(key, f"not a directory: {found}")
    return found
