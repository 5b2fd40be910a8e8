"""The contract between the retrieval runner and a system: what it needs, its settings, how it makes a run.

A system module declares its `System`s: a name, what the runner must provide (BM25's run of a split, an
encoder's vectors, other systems' runs: `fuses`), its `[retrieval]` settings (a frozen dataclass whose fields
are the keys and whose defaults are the defaults, and the function that reads and checks them), and
`produce`, which turns a `Context` and a `Split` into a `Produced`: the `RankedRun` and the typed
parameters the report records. `bench.retrieval.systems` is the registry; the runner resolves what each
listed system needs, computes it once, and asks each system for its run of the test split.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bench.results import Params, StoredParams
from daft.search.ranked import RankedRun

if TYPE_CHECKING:
    from bench.retrieval.tuning import Tuning
    from bench.specs import RetrievalSpec
    from daft.core.config import Table


@dataclass(frozen=True)
class Split:
    """One split as the systems see it: its judged queries, their qrels, and BM25's run of them (an empty
    run when no listed system needs BM25)."""

    name: str
    queries: Mapping[str, str]
    qrels: Mapping[str, Mapping[str, int]]
    bm25: RankedRun


@dataclass(frozen=True)
class Produced:
    """A system's run of one split and the parameters it was made with (`Params`, typed per system)."""

    run: RankedRun
    params: Params


class Searcher(Protocol):
    """An encoder's vectors as a system sees them (`systems/vectors.Vectors`): its dense run of a split."""

    def search(self, split: Split) -> RankedRun:
        """The encoder's queries of `split` searched in its document index (made once per split)."""
        ...


class Context(Protocol):
    """What the runner hands a system: the suite's settings, the test and tuning splits, the encoder's
    vectors (for systems that need them), other systems' runs, and the encoder's stage timings."""

    spec: RetrievalSpec
    test: Split
    tuning: Tuning | None  # resolved once for the run; None when no listed system tunes
    tune: Split | None  # the tuning split (None under cross-validation, which tunes on `test`'s folds)
    encoder: str | None
    where: str  # "<suite>: [retrieval] <encoder>", for messages

    @property
    def vectors(self) -> Searcher:
        """The encoder's query and document vectors (only for a system that declares `vectors`)."""
        ...

    def run(self, system: str, split: Split) -> RankedRun:
        """System `system`'s run of `split` (one of this system's `fuses`), made once per split."""
        ...

    def timed(self, key: str) -> contextlib.AbstractContextManager[None]:
        """Add the block's wall time to the encoder's (or the run's) timing `key`."""
        ...


class Settings(Protocol):
    """A system's [retrieval] keys: a frozen dataclass whose fields are the keys and whose defaults are the
    defaults, and how they are read from the table (the suite's shared settings given, for rules across
    keys); every registered system's are read, listed or not."""

    @classmethod
    def parse(cls, t: Table, spec: RetrievalSpec) -> Settings:
        """The keys from [retrieval], checked: a bad one fails naming it (`Table.fail`)."""
        ...


@dataclass(frozen=True)
class System:
    """What a system module declares about one system name; `bench.retrieval.systems` registers it."""

    name: str
    description: str  # one line, for `bench list`
    produce: Callable[[Context, Split], Produced]
    bm25: bool = False  # needs BM25's run of each split it is given
    vectors: bool = False  # needs an encoder's vectors: one system per retrieving encoder
    fuses: tuple[str, ...] = ()  # the other systems whose runs it takes (made even when not listed)
    tunes: bool = False  # tuned on `[retrieval] tune_split` (resolved once per run: `Context.tuning`)
    settings: type[Settings] | None = None  # its [retrieval] keys
    params: type[Params] = StoredParams  # its parameters' type: how a report's stored ones read back


@contextlib.contextmanager
def timed(timings: dict[str, float], key: str) -> Iterator[None]:
    """Add the block's wall time to `timings[key]` (stages run more than once accumulate)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = timings.get(key, 0.0) + time.perf_counter() - start
