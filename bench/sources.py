"""Where a suite's encoders come from, known before anything is measured.

`describe` says it without touching the network or the cache (what `--dry-run` shows); `check` resolves
every model and tokenizer a run will load, fetching assets, so that a missing one fails at the start of a
run, not after the cells of the encoders before it were measured.
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.specs import EncoderSpec, Suite
from daft.models.manifest import MANIFEST
from daft.store import assets

__all__ = ["check", "describe", "pairs_to_train"]

_HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")


def _model(ref: str) -> str:
    """What a model reference names, as `daft.store.assets.resolve_model` will take it."""
    if ref in assets.ASSETS:
        return f"asset {ref} ({'cached' if assets.is_cached(ref) else 'fetched on first use'})"
    path = Path(ref).expanduser()
    if path.is_dir():
        return f"directory {path}"
    if _HUB_ID.fullmatch(ref):
        return f"Hugging Face hub id {ref} (needs the hub)"
    return f"{ref}: not a known asset nor a directory"


def describe(spec: EncoderSpec) -> str:
    """One line: the encoder's type and the model, architecture or pair it is built from."""
    if spec.pair is not None:
        if (spec.pair / MANIFEST).is_file():
            return f"pair {spec.pair}"
        if spec.recipe is None:
            return f"pair {spec.pair}: missing, and no recipe to train it"
        return f"pair {spec.pair}: missing, trained first with {spec.recipe}"
    if spec.arch is not None:
        arch = f"{spec.arch.layers} layers x {spec.arch.hidden} wide, random init"
        return f"{spec.type}: {arch}, tokenizer {_model(str(spec.tokenizer))}"
    dim = f", projected to {spec.dim}" if spec.dim else ""
    return f"{spec.type}: {_model(str(spec.model))}{dim}"


def pairs_to_train(suite: Suite) -> list[EncoderSpec]:
    """The encoders whose pair is missing and has a recipe: a run trains them before measuring."""
    return [
        s
        for s in suite.encoders
        if s.pair is not None and s.recipe is not None and not (s.pair / MANIFEST).is_file()
    ]


def check(suite: Suite) -> None:
    """Resolve every model and tokenizer reference of the suite now (a UserError names a missing one)."""
    for spec in suite.encoders:
        for ref in (spec.model, spec.tokenizer):
            if ref is not None and not Path(ref).expanduser().is_dir():
                assets.resolve_model(ref)
