"""Hybrid retrieval: BM25 and an encoder's dense run interpolated, alpha tuned (`bench.retrieval.tuning`).

Alpha weights the lexical side, each side normalised per query first (`bench.retrieval.fusion`). It is
tuned on the run's tuning split, or per fold by cross-validation over the test queries, on the primary
measure; where it was tuned is the run's (`RetrievalResult.tune_split`), not repeated here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.results import AlphaCurve, Params
from bench.retrieval.fusion import MISSING_POLICIES, NORMALIZATIONS, interpolate
from bench.retrieval.systems.base import Context, Produced, Split, System
from bench.retrieval.tuning import AlphaSearch, Tuned, cross_validate, tune_alpha
from daft.core.config import Table

if TYPE_CHECKING:
    from bench.specs import RetrievalSpec


@dataclass(frozen=True)
class HybridSettings:
    """[retrieval] normalization, missing (a candidate one side did not retrieve), alpha_grid."""

    normalization: str = "min-max"
    missing: str = "min"
    alpha_grid: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)

    @classmethod
    def parse(cls, t: Table, _: RetrievalSpec) -> HybridSettings:
        """The fusion's keys, checked against the names the fusion implements."""
        return cls(
            normalization=t.choice("normalization", NORMALIZATIONS, "normalisation"),
            missing=t.choice("missing", MISSING_POLICIES, "missing-document policy"),
            alpha_grid=t.numbers("alpha_grid", low=0.0, high=1.0),
        )


@dataclass(frozen=True)
class HybridParams(Params):
    """How the hybrid run was fused, and the alpha chosen with its curve (one per fold under CV)."""

    normalization: str
    missing: str
    measure: str  # what alpha maximised: the curves' values
    tuned: tuple[Tuned, ...]
    alpha_weights: str = "lexical"

    @property
    def alpha(self) -> float | list[float]:
        """The alpha fused at; under cross-validation each fold's (folds without queries left out)."""
        if len(self.tuned) == 1 and self.tuned[0].fold is None:
            return self.tuned[0].alpha  # type: ignore[return-value]  # a split's tuning always chooses
        return [t.alpha for t in self.tuned if t.alpha is not None]

    def shown(self) -> dict[str, str]:
        alpha = self.alpha
        return {
            "alpha": "/".join(map(str, alpha)) if isinstance(alpha, list) else str(alpha),
            "normalization": self.normalization,
        }

    def alpha_curves(self, measure: str) -> tuple[AlphaCurve, ...]:
        if measure != self.measure:
            return ()
        return tuple(AlphaCurve(t.fold, t.alpha, t.curve) for t in self.tuned if t.curve)

    def _curve(self, tuned: Tuned) -> list[dict[str, float]]:
        return [{"alpha": alpha, self.measure: value} for alpha, value in tuned.curve]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "alpha": self.alpha,
            "alpha_weights": self.alpha_weights,
            "normalization": self.normalization,
            "missing": self.missing,
        }
        if isinstance(out["alpha"], list):
            folds = [
                {"fold": t.fold, "queries": t.queries, "alpha": t.alpha, "curve": self._curve(t)}
                for t in self.tuned
            ]
            return out | {"folds": folds}
        return out | {"curve": self._curve(self.tuned[0])}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Params:
        records = data["folds"] if "folds" in data else [{"alpha": data["alpha"], "curve": data["curve"]}]
        measure = next((k for r in records for p in r["curve"] for k in p if k != "alpha"), "")
        tuned = tuple(
            Tuned(
                r["alpha"],
                tuple((p["alpha"], p[measure]) for p in r["curve"]),
                r.get("fold"),
                r.get("queries", 0),
            )
            for r in records
        )
        return cls(
            data["normalization"], data["missing"], measure, tuned, data.get("alpha_weights", "lexical")
        )


def _produce(context: Context, split: Split) -> Produced:
    settings, spec, tuning = context.spec.setting(HybridSettings), context.spec, context.tuning
    assert tuning is not None  # the runner resolves it for every system that tunes
    search = AlphaSearch(
        settings.alpha_grid, spec.primary_measure, settings.normalization, settings.missing, spec.depth
    )
    lexical, dense = context.run("bm25", split), context.run("dense", split)
    if tuning.folds:
        with context.timed("tune_alpha_s"):
            fused, tuned = cross_validate(lexical, dense, split.qrels, search, tuning.folds, context.where)
    else:
        tune = context.tune
        assert tune is not None
        tune_lexical, tune_dense = context.run("bm25", tune), context.run("dense", tune)
        with context.timed("tune_alpha_s"):
            tuned = (tune_alpha(tune_lexical, tune_dense, tune.qrels, search),)
        with context.timed("fuse_s"):
            fused = interpolate(
                lexical,
                dense,
                tuned[0].alpha,
                normalization=settings.normalization,
                missing=settings.missing,
                k=spec.depth,
            )
    params = HybridParams(settings.normalization, settings.missing, search.measure, tuned)
    return Produced(fused, params)


SYSTEMS = (
    System(
        "hybrid",
        "bm25 and dense interpolated (alpha on the lexical side, tuned on tune_split)",
        _produce,
        fuses=("bm25", "dense"),
        tunes=True,
        settings=HybridSettings,
        params=HybridParams,
    ),
)
