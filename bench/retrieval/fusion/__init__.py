"""Fusion of retrieval runs: score interpolation after per-query normalisation, and reciprocal rank fusion."""

from __future__ import annotations

from bench.retrieval.fusion.interpolation import CANDIDATES, MISSING_POLICIES, interpolate
from bench.retrieval.fusion.normalization import NORMALIZATIONS, normalize
from bench.retrieval.fusion.rrf import rrf

__all__ = ["CANDIDATES", "MISSING_POLICIES", "NORMALIZATIONS", "interpolate", "normalize", "rrf"]
