"""Dense retrieval: each retrieving encoder's queries searched in a FAISS index of its document vectors."""

from __future__ import annotations

from dataclasses import dataclass

from bench.results import Params
from bench.retrieval.systems.base import Context, Produced, Split, System
from bench.retrieval.systems.vectors import VectorSettings


@dataclass(frozen=True)
class DenseParams(Params):
    """Dense retrieval has no parameters of its own (the index and precision are the pair's: `PairInfo`)."""


def _produce(context: Context, split: Split) -> Produced:
    return Produced(context.vectors.search(split), DenseParams())


SYSTEMS = (
    System(
        "dense",
        "each encoder's query vectors against a FAISS index of its document vectors",
        _produce,
        vectors=True,
        settings=VectorSettings,
        params=DenseParams,
    ),
)
