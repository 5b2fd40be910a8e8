"""A test-only fusion, to show that a retrieval system is one module: CombSUM (Fox and Shaw, TREC-2, 1994),
the sum of BM25's and the dense run's per-query normalised scores over the union of their hits, with a
[retrieval] key of its own (`combsum_normalization`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.results import Params
from bench.retrieval.fusion import NORMALIZATIONS, interpolate
from bench.retrieval.systems import Context, Produced, Split, System
from daft.core.config import Table

if TYPE_CHECKING:
    from bench.specs import RetrievalSpec


@dataclass(frozen=True)
class CombSumSettings:
    combsum_normalization: str = "min-max"

    @classmethod
    def parse(cls, t: Table, _: RetrievalSpec) -> CombSumSettings:
        return cls(t.choice("combsum_normalization", NORMALIZATIONS, "normalisation"))


@dataclass(frozen=True)
class CombSumParams(Params):
    normalization: str

    def shown(self) -> dict[str, str]:
        return {"normalization": self.normalization}


def _produce(context: Context, split: Split) -> Produced:
    normalization = context.spec.setting(CombSumSettings).combsum_normalization
    runs = context.run("bm25", split), context.run("dense", split)
    with context.timed("fuse_s"):
        # Half of each side is half the sum: CombSUM's order, its scores halved.
        fused = interpolate(
            *runs, 0.5, normalization=normalization, missing="zero", candidates="union", k=context.spec.depth
        )
    return Produced(fused, CombSumParams(normalization))


SYSTEMS = (
    System(
        "combsum",
        "CombSUM of bm25 and dense (test only)",
        _produce,
        fuses=("bm25", "dense"),
        settings=CombSumSettings,
        params=CombSumParams,
    ),
)
