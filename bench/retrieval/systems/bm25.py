"""BM25 (Lucene through `daft.search.bm25`): the lexical system, run once per split, and what fusions fuse with.

The runner makes BM25's run of each split a listed system needs (`System.bm25`) while it builds the split,
with the k1 and b declared here, so the `bm25` system only hands that run on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.results import Params
from bench.retrieval.runs import DocIndex, RankedRun
from bench.retrieval.systems.base import Context, Produced, Split, System
from daft.core.config import Table, show
from daft.search import bm25

if TYPE_CHECKING:
    from bench.specs import RetrievalSpec
    from daft.collections.collection import Collection


@dataclass(frozen=True)
class Bm25Settings:
    """[retrieval] bm25_k1, bm25_b: Anserini's defaults for MS MARCO passages."""

    bm25_k1: float = 0.9
    bm25_b: float = 0.4

    @classmethod
    def parse(cls, t: Table, _: RetrievalSpec) -> Bm25Settings:
        """bm25_k1 >= 0, bm25_b in [0, 1]."""
        b = t.number("bm25_b", positive=False)
        if b > 1:
            t.fail("bm25_b", f"expected a number between 0 and 1, got {show(b)}")
        return cls(t.number("bm25_k1", positive=False), b)


@dataclass(frozen=True)
class Bm25Params(Params):
    """BM25's parameters in the report."""

    k1: float
    b: float

    def shown(self) -> dict[str, str]:
        return {"k1": str(self.k1), "b": str(self.b)}


def bm25_run(
    collection: Collection, split: str, queries: Sequence[str], spec: RetrievalSpec, table: DocIndex
) -> RankedRun:
    """BM25's run of `queries` of `split` at the suite's depth, on the run's doc table."""
    settings = spec.setting(Bm25Settings)
    ranked = bm25.run(collection, split, k=spec.depth, k1=settings.bm25_k1, b=settings.bm25_b)
    return table.adopt(ranked, f"bm25 {collection.name}").take(list(queries))


def _produce(context: Context, split: Split) -> Produced:
    settings = context.spec.setting(Bm25Settings)
    return Produced(split.bm25, Bm25Params(settings.bm25_k1, settings.bm25_b))


SYSTEMS = (
    System(
        "bm25",
        "BM25 over the collection (Lucene, via pyserini)",
        _produce,
        bm25=True,
        settings=Bm25Settings,
        params=Bm25Params,
    ),
)
