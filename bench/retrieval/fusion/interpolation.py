"""Convex interpolation of a lexical and a dense run: ``alpha * lexical + (1 - alpha) * dense``.

`alpha` weights the LEXICAL side: alpha = 1 is the lexical (BM25) order, alpha = 0 the dense order over the
same candidates. This is the convention of Fast-Forward indexes (J. Leonhardt, K. Rudra, M. Khosla,
A. Anand and A. Anand, "Efficient Neural Ranking using Forward Indexes", WWW 2022), which
interpolate the sparse and the dense score of BM25's candidates. Pyserini's hybrid searcher (J. Lin, X. Ma,
S.-C. Lin, J.-H. Yang, R. Pradeep and R. Nogueira, "Pyserini: A Python Toolkit for Reproducible
Information Retrieval Research with Sparse and Dense Representations", SIGIR 2021) also puts its alpha on
the sparse side, as ``alpha * sparse + dense`` (the same order as the convex form with alpha / (1 + alpha)),
over the union of both lists, filling a doc missing from one side with that side's minimum score: the
``"union"`` and ``"min"`` choices here.

Each side is first normalised per query over its own list (`bench.retrieval.fusion.normalization`).
Candidates per query are the lexical list (``"lexical"``: re-ranking BM25's top-k, as Fast-Forward does)
or the union of both lists (``"union"``). A candidate one side did not retrieve gets, on that side, the
minimum normalised score of that side's list (``"min"``: it is at best as good as the worst retrieved
doc) or 0.0 (``"zero"``); a query one side retrieved nothing for gets 0.0 on that side under either policy.
"""

from __future__ import annotations

from collections.abc import Mapping

from bench.retrieval.fusion.normalization import normalize
from bench.retrieval.runs import Run, check_choice, check_cutoff, top_k
from daft.errors import UserError

__all__ = ["CANDIDATES", "MISSING_POLICIES", "interpolate"]

MISSING_POLICIES = ("min", "zero")
CANDIDATES = ("lexical", "union")


def _missing_score(scores: Mapping[str, float], missing: str) -> float:
    """The score one side gives a candidate it did not retrieve, under policy `missing`."""
    return min(scores.values()) if missing == "min" and scores else 0.0


def interpolate(
    lexical: Run,
    dense: Run,
    alpha: float,
    *,
    normalization: str = "min-max",
    missing: str = "min",
    candidates: str = "lexical",
    k: int | None = None,
) -> Run:
    """Fuse two runs per query as ``alpha * lexical + (1 - alpha) * dense`` over normalised scores."""
    if not 0.0 <= alpha <= 1.0:
        raise UserError(f"alpha must be in [0, 1], got {alpha!r}")
    check_choice("missing policy", missing, MISSING_POLICIES)
    check_choice("candidate set", candidates, CANDIDATES)
    check_cutoff("k", k)
    lex, den = normalize(lexical, normalization), normalize(dense, normalization)
    # With "lexical" the dense run only re-scores BM25's candidates, so its extra queries are ignored too.
    qids = lex if candidates == "lexical" else {**lex, **den}
    fused: Run = {}
    for qid in qids:
        lex_q, den_q = lex.get(qid, {}), den.get(qid, {})
        lex_fill, den_fill = _missing_score(lex_q, missing), _missing_score(den_q, missing)
        docs = lex_q if candidates == "lexical" else {**lex_q, **den_q}
        fused[qid] = {
            doc: alpha * lex_q.get(doc, lex_fill) + (1.0 - alpha) * den_q.get(doc, den_fill) for doc in docs
        }
    return fused if k is None else top_k(fused, k)
