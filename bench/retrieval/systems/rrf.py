"""Reciprocal rank fusion of BM25 and an encoder's dense run (`bench.retrieval.fusion.rrf`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.results import Params
from bench.retrieval.fusion import rrf
from bench.retrieval.systems.base import Context, Produced, Split, System
from daft.core.config import Table

if TYPE_CHECKING:
    from bench.specs import RetrievalSpec


@dataclass(frozen=True)
class RrfSettings:
    """[retrieval] rrf_k: the rank offset (60 in Cormack et al.)."""

    rrf_k: int = 60

    @classmethod
    def parse(cls, t: Table, _: RetrievalSpec) -> RrfSettings:
        """rrf_k >= 0."""
        return cls(t.integer("rrf_k", minimum=0))


@dataclass(frozen=True)
class RrfParams(Params):
    """RRF's parameters in the report."""

    k: int

    def shown(self) -> dict[str, str]:
        return {"k": str(self.k)}


def _produce(context: Context, split: Split) -> Produced:
    k = context.spec.setting(RrfSettings).rrf_k
    runs = [context.run("bm25", split), context.run("dense", split)]
    with context.timed("fuse_s"):
        fused = rrf(runs, k=k, depth=context.spec.depth)
    return Produced(fused, RrfParams(k))


SYSTEMS = (
    System(
        "rrf",
        "reciprocal rank fusion of bm25 and dense",
        _produce,
        fuses=("bm25", "dense"),
        settings=RrfSettings,
        params=RrfParams,
    ),
)
