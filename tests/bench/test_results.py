"""The typed views of a report's results that readers share."""

from __future__ import annotations

from typing import Any

from bench.results import AlphaCurve, SystemResult
from bench.retrieval.systems import registry

FUSED = {"normalization": "min-max", "missing": "min"}


def system(system_id: str, params: dict[str, Any] | None = None) -> SystemResult:
    kind = system_id.split("/")[-1]
    typed = registry()[kind].params.from_json(params or {})
    return SystemResult(system_id, kind, "l0", typed, {"nDCG@10": 0.4})


def _curve(*values: float) -> list[dict[str, float]]:
    return [{"alpha": i / 2, "nDCG@10": v} for i, v in enumerate(values)]


def test_a_tuned_hybrid_has_its_curve_and_chosen_alpha() -> None:
    hybrid = system("l0/hybrid", {"alpha": 0.5, "curve": _curve(0.3, 0.4, 0.2)} | FUSED)
    assert hybrid.alpha_curves("nDCG@10") == (AlphaCurve(None, 0.5, ((0.0, 0.3), (0.5, 0.4), (1.0, 0.2))),)
    assert hybrid.alpha_curves("RR@10") == ()  # alpha was tuned on nDCG@10 alone
    assert hybrid.params.shown() == {"alpha": "0.5", "normalization": "min-max"}


def test_cross_validation_gives_one_curve_per_fold_and_other_systems_none() -> None:
    folds = [
        {"fold": 0, "queries": 3, "alpha": 0.0, "curve": _curve(0.5, 0.4, 0.1)},
        {"fold": 1, "queries": 0, "alpha": None, "curve": []},  # a fold with no queries has no curve
        {"fold": 2, "queries": 4, "alpha": 1.0, "curve": _curve(0.1, 0.2, 0.3)},
    ]
    hybrid = system("l0/hybrid", {"alpha": [0.0, 1.0], "folds": folds} | FUSED)
    assert [(c.fold, c.chosen) for c in hybrid.alpha_curves("nDCG@10")] == [(0, 0.0), (2, 1.0)]
    assert hybrid.params.shown()["alpha"] == "0.0/1.0"
    assert system("l0/dense").alpha_curves("nDCG@10") == ()
