"""The encoder pairs a suite names: loaded from disk, or trained first by their recipe when missing."""

from __future__ import annotations

from pathlib import Path

from bench.specs import EncoderSpec, Suite
from daft.core.errors import UserError
from daft.core.progress import console
from daft.models import st_models
from daft.models.build import build
from daft.models.pair import MANIFEST, EncoderPair, load_pair


def ensure_pairs(suite: Suite) -> list[str]:
    """Train every pair of `suite` that is missing and has a recipe; returns the names trained."""
    trained = []
    for spec in suite.encoders:
        if spec.pair is None or (spec.pair / MANIFEST).is_file():
            continue
        if spec.recipe is None:
            raise UserError(
                f"{suite.path}: encoder {spec.name!r}: pair {spec.pair} not found (and no recipe)"
            )
        from daft.training.recipe import load_recipe
        from daft.training.train import train

        console.print(f"encoder {spec.name}: pair {spec.pair} is missing; training it with {spec.recipe}")
        train(load_recipe(spec.recipe, [f"recipe.output={spec.pair}"]))
        trained.append(spec.name)
    return trained


def load_retrieval_pair(spec: EncoderSpec) -> EncoderPair:
    """The query and document encoders of `spec`: its pair, or its model on both sides (symmetric)."""
    if spec.pair is not None:
        return load_pair(Path(spec.pair))
    if spec.model is None or spec.type != "transformer":
        raise UserError(f"encoder {spec.name!r} cannot retrieve: give it a pair, or a transformer model")
    # `dim` as the latency runner builds it: else the frontier would join a projected encoder's latency
    # with the quality of the unprojected one.
    options = {"model": spec.model, "pooling": spec.pooling, "dim": spec.dim}
    encoder = build({k: v for k, v in options.items() if v is not None})
    if st_models.is_asymmetric(spec.model):
        # A sentence-transformers Router: its document route embeds the corpus.
        doc = build({"model": spec.model, "side": "doc"})
        return EncoderPair(encoder, doc, {"routes": spec.model})
    return EncoderPair(encoder, encoder, {"symmetric": spec.model})
