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

import numpy as np

from bench.retrieval.fusion.normalization import normalize
from bench.retrieval.runs import AnyRun, RankedRun, Rows, check_choice, check_cutoff, on_one_table, rank
from daft.core.errors import UserError

__all__ = ["CANDIDATES", "MISSING_POLICIES", "interpolate"]

MISSING_POLICIES = ("min", "zero")
CANDIDATES = ("lexical", "union")


_NO_HITS = (np.zeros(0, np.int32), np.zeros(0, np.float64))


def _missing_score(scores: np.ndarray, missing: str) -> float:
    """The score one side gives a candidate it did not retrieve, under policy `missing`."""
    return float(scores.min()) if missing == "min" and len(scores) else 0.0


def interpolate(
    lexical: AnyRun,
    dense: AnyRun,
    alpha: float,
    *,
    normalization: str = "min-max",
    missing: str = "min",
    candidates: str = "lexical",
    k: int | None = None,
) -> RankedRun:
    """Fuse two runs per query as ``alpha * lexical + (1 - alpha) * dense`` over normalised scores; each
    query's fused hits ranked (ties by doc id), its top `k` if given."""
    if not 0.0 <= alpha <= 1.0:
        raise UserError(f"alpha must be in [0, 1], got {alpha!r}")
    check_choice("missing policy", missing, MISSING_POLICIES)
    check_choice("candidate set", candidates, CANDIDATES)
    check_cutoff("k", k)
    lex, den = on_one_table([normalize(lexical, normalization), normalize(dense, normalization)])
    # With "lexical" the dense run only re-scores BM25's candidates, so its extra queries are ignored too.
    qids = lex.qids if candidates == "lexical" else lex.qids + [q for q in den.qids if q not in lex]
    # Per doc of the table: its dense score in the current query, and whether either side retrieved it;
    # set for one query's hits and reset after, so a query costs its hits, not the corpus.
    dense_score = np.zeros(len(lex.doc_table), np.float64)
    in_dense = np.zeros(len(lex.doc_table), bool)
    in_lexical = np.zeros(len(lex.doc_table), bool)
    rows = Rows()
    for qid in qids:
        lex_docs, lex_scores = lex.row(qid) if qid in lex else _NO_HITS
        den_docs, den_scores = den.row(qid) if qid in den else _NO_HITS
        lex_fill, den_fill = _missing_score(lex_scores, missing), _missing_score(den_scores, missing)
        dense_score[den_docs], in_dense[den_docs] = den_scores, True
        docs, lex_part = lex_docs, lex_scores
        if candidates == "union":
            in_lexical[lex_docs] = True
            extra = den_docs[~in_lexical[den_docs]]
            in_lexical[lex_docs] = False
            docs = np.concatenate((lex_docs, extra))
            lex_part = np.concatenate((lex_scores, np.full(len(extra), lex_fill)))
        den_part = np.where(in_dense[docs], dense_score[docs], den_fill)
        in_dense[den_docs] = False
        fused = alpha * lex_part + (1.0 - alpha) * den_part
        order = rank(docs, fused)[:k]
        rows.add(qid, docs[order], fused[order])
    return rows.build(lex.doc_table)
