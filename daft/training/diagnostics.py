"""Collapse diagnostics for a query encoder: k-NN KL divergence to the doc encoder, effective rank, cosine.

Naive joint training of a small query encoder with a big document encoder collapses: the query encoder
emits near-constant vectors. These numbers show it on a validation set. DAFT's alignment stage stops when
`knn_kl_divergence(doc-encoder vectors, query-encoder vectors of the same documents)` stops falling.
All maths runs in float64 on numpy copies; inputs may be numpy arrays or torch tensors (any device).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

try:
    import faiss
except ImportError:  # a machine without faiss (the GPU grid's) proposes candidates with numpy instead
    faiss = None

from daft.core.errors import UserError

# Candidates fetched beyond the k needed (+1 for the point itself): they are re-ranked with exact float64
# distances, which repairs float32 mis-ordering among near-ties.
_EXTRA_CANDIDATES = 8
# Re-rank in row blocks so the (rows, candidates, d) float64 difference tensor stays around 32 MB.
_RERANK_BLOCK_VALUES = 4_000_000
# Distances are floored at this fraction of the data's RMS radius (see knn_kl_divergence).
_RELATIVE_EPS = 1e-10


def _as_matrix(x: Any, name: str) -> np.ndarray:
    """A finite 2-D float64 numpy copy of `x` (numpy array, torch tensor or nested sequence)."""
    if hasattr(x, "detach"):  # a torch tensor: avoid importing torch just for isinstance
        x = x.detach().float().cpu().numpy()
    array = np.asarray(x, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows are vectors), got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds NaN or infinite values (did the encoder diverge?)")
    return array


def _kth_neighbour_distances(
    base: np.ndarray, points: np.ndarray, k: int, exclude_self: bool, skip_within: float | None = None
) -> np.ndarray:
    """Exact Euclidean distance from each row of `points` to its k-th nearest row of `base` (float64).

    With `exclude_self`, `points` is `base` and row i's own entry is skipped (its duplicates are not).
    With `skip_within`, rows of `base` within that distance (the same point) are skipped; a point whose
    candidates are all skipped gets `skip_within`.
    faiss IndexFlatL2 (exact brute force, float32 BLAS) proposes k + 1 + _EXTRA_CANDIDATES candidates,
    whose distances are then recomputed in float64 and sorted.
    """
    n_base = base.shape[0]
    n_cand = min(n_base, k + 1 + _EXTRA_CANDIDATES)
    labels = _candidates(base, points, n_cand)
    out = np.empty(points.shape[0], dtype=np.float64)
    block = max(1, _RERANK_BLOCK_VALUES // (n_cand * base.shape[1]))
    for start in range(0, points.shape[0], block):
        rows = slice(start, start + block)
        cand = labels[rows]
        dist = np.linalg.norm(base[cand] - points[rows, None, :], axis=2)
        if exclude_self:
            # If row i is not among its own candidates, they are all exact ties with it (duplicates at
            # distance ~0), so the k-th of them is the right answer anyway.
            own = np.arange(start, start + cand.shape[0])[:, None]
            dist[cand == own] = np.inf
        if skip_within is not None:
            dist[dist <= skip_within] = np.inf
        out[rows] = np.sort(dist, axis=1)[:, k - 1]
    if skip_within is not None:
        out[~np.isfinite(out)] = skip_within
    return out


def _candidates(base: np.ndarray, points: np.ndarray, n_cand: int) -> np.ndarray:
    """For each row of `points`, the indices of its `n_cand` nearest rows of `base` by float32 distance.

    faiss IndexFlatL2 when installed; otherwise the same exact float32 brute force in numpy (row blocks).
    Either way the candidates are re-ranked in float64, so the two agree but for float32 near-ties at the
    edge of the candidate list, which the extra candidates absorb.
    """
    base32 = np.ascontiguousarray(base, dtype=np.float32)
    points32 = np.ascontiguousarray(points, dtype=np.float32)
    if faiss is not None:
        index = faiss.IndexFlatL2(base.shape[1])
        index.add(base32)
        return index.search(points32, n_cand)[1]
    if n_cand >= base32.shape[0]:  # every row is a candidate
        return np.tile(np.arange(base32.shape[0]), (points32.shape[0], 1))
    base_norms = np.einsum("ij,ij->i", base32, base32)
    labels = np.empty((points32.shape[0], n_cand), dtype=np.int64)
    block = max(1, _RERANK_BLOCK_VALUES // base32.shape[0])
    for start in range(0, points32.shape[0], block):
        # |p - b|^2 without the |p|^2 term, which does not change a row's order.
        distances = base_norms[None, :] - 2 * (points32[start : start + block] @ base32.T)
        labels[start : start + block] = np.argpartition(distances, n_cand - 1, axis=1)[:, :n_cand]
    return labels


def knn_kl_divergence(p: Any, q: Any, k: int = 1) -> float:
    """k-NN estimate of D(P||Q) from samples p [n, d] ~ P and q [m, d] ~ Q (Wang, Kulkarni & Verdu 2009).

    Estimator (Wang, Kulkarni & Verdu, "Divergence estimation for multidimensional densities via
    k-nearest-neighbor distances", IEEE Trans. Inf. Theory 55(5), 2009, eq. 5 with k_i = l_i = k):
        D(P||Q) ~= d/n sum_i log( nu_k(i) / rho_k(i) ) + log( m / (n - 1) ),
    rho_k(i) = Euclidean distance from p_i to its k-th nearest neighbour among the other p's,
    nu_k(i)  = Euclidean distance from p_i to its k-th nearest neighbour among the q's.
    It is consistent as n, m -> inf for fixed d, but with d in the hundreds and a few thousand samples
    it is strongly biased: read its trend over training, not its absolute value. It can be negative.

    DAFT use: P = the document encoder's vectors of the validation documents, Q = the query encoder's
    vectors of the SAME documents (the authors' `KLDivergence` metric uses this direction). D(P||Q)
    asks whether Q puts mass wherever the document vectors are: a collapsed query encoder (all of Q near
    one point) leaves most p_i far from every q, so nu >> rho and the estimate is large and finite. The
    reverse direction would divide by the ~0 distances among a collapsed Q and measure only the epsilon
    below. Pass the vectors the pair retrieves with (L2-normalised), or norm differences count too.

    Zero distances: exact duplicates among the p's make rho = 0 (log -> +inf); rho is floored at eps =
    1e-10 x the RMS distance of all rows to their common mean (relative, so the estimate stays
    scale-invariant), so a duplicate adds a large finite d/n * log(nu/eps) instead of inf. Duplicate p's in
    practice mean duplicate validation documents: deduplicate them by text, since each one inflates the
    estimate by about d/n * 23. A q within eps of p_i is the same point, not a neighbour: it is skipped
    when nu_k(i) is found, as p_i itself is for rho_k(i). So identical P and Q (a symmetric pair: the
    same encoder on both sides) give log(m/(n-1)), about 0, where flooring nu would give about -23 d.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise UserError(f"k for the k-NN KL divergence must be a positive integer, got {k!r}")
    p = _as_matrix(p, "p")
    q = _as_matrix(q, "q")
    (n, d), m = p.shape, q.shape[0]
    if q.shape[1] != d:
        raise ValueError(f"p and q must have the same dimension, got {d} and {q.shape[1]}")
    if n < k + 1 or m < k:
        raise UserError(
            f"k-NN KL divergence with k={k} needs at least {k + 1} p rows and {k} q rows, got {n} and {m}"
        )
    # Distances are translation-invariant; centring shrinks the norms that float32 distances (in faiss)
    # lose precision against when the data sit far from the origin (e.g. in a narrow cone).
    centre = np.concatenate([p, q]).mean(axis=0)
    p, q = p - centre, q - centre
    radius = math.sqrt(float(np.concatenate([p, q]).var(axis=0).sum()))
    eps = _RELATIVE_EPS * radius if radius > 0 else 1.0  # radius 0: every distance is 0, any eps works
    rho = np.maximum(_kth_neighbour_distances(p, p, k, exclude_self=True), eps)
    nu = np.maximum(_kth_neighbour_distances(q, p, k, exclude_self=False, skip_within=eps), eps)
    return float(d * np.mean(np.log(nu / rho)) + math.log(m / (n - 1)))


def effective_rank(x: Any) -> float:
    """exp of the Shannon entropy of the normalised singular values of x [n, d] (Roy & Vetterli 2007).

    Roy & Vetterli, "The effective rank: a measure of effective dimensionality", EUSIPCO 2007:
    p_i = sigma_i / sum_j sigma_j, erank = exp(-sum_i p_i log p_i) with 0 log 0 = 0; it lies in
    [1, min(n, d)], is r for r equal non-zero singular values and 1 for a rank-1 matrix.
    No centring, as in the paper's definition: the mean direction counts as one dimension, so a collapsed
    encoder (rows ~ one shared vector plus small noise) scores ~1, where centring would leave only the
    noise, whose effective rank is high. The price: healthy but anisotropic embeddings (a narrow cone,
    common for transformers) also lose about one unit to their shared mean. Because it weights singular
    values (not their squares), many small noise directions add up: unit rows that are one vector plus
    isotropic noise score ~1 only for tiny noise (d = 384: ~8 at mean cosine 0.9996, ~38 at 0.997), so
    read it with mean_pairwise_cosine, the sharper collapse signal.
    """
    x = _as_matrix(x, "x")
    sigma = np.linalg.svd(x, compute_uv=False)
    total = sigma.sum()
    if total <= 0:
        raise ValueError("effective rank is undefined for an all-zero matrix")
    prob = sigma[sigma > 0] / total
    return float(np.exp(-np.sum(prob * np.log(prob))))


def mean_pairwise_cosine(x: Any) -> float:
    """Mean cosine similarity over the n(n-1) ordered pairs i != j of rows of x [n, d], in O(n d).

    With unit rows u_i and s = sum_i u_i: ||s||^2 = sum_i sum_j u_i.u_j = sum_i ||u_i||^2 + sum_{i!=j} cos_ij,
    so the mean over distinct pairs is (||s||^2 - sum_i ||u_i||^2) / (n (n - 1)) (sum_i ||u_i||^2 = n,
    except that an all-zero row stays zero and so has cosine 0 with every row, as with F.normalize).
    1 for identical rows, ~0 for random high-dimensional rows, -1/(n-1) at the least.
    """
    x = _as_matrix(x, "x")
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"mean pairwise cosine needs at least 2 rows, got {n}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    units = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    total = units.sum(axis=0)
    return float((total @ total - np.sum(units * units)) / (n * (n - 1)))


def collapse_report(
    query_vectors: Any, doc_side_vectors_of_same_docs: Any, query_side_vectors_of_same_docs: Any, k: int = 1
) -> dict[str, float]:
    """Validation-log numbers: kl (doc encoder || query encoder), effective_rank and mean_cosine of queries.

    `query_vectors` are the query encoder's vectors of the validation queries; the other two are the
    document encoder's and the query encoder's vectors of the same validation documents (see
    knn_kl_divergence for why in that order). Collapse shows as kl up, effective_rank -> 1, mean_cosine -> 1.
    """
    return {
        "kl": knn_kl_divergence(doc_side_vectors_of_same_docs, query_side_vectors_of_same_docs, k=k),
        "effective_rank": effective_rank(query_vectors),
        "mean_cosine": mean_pairwise_cosine(query_vectors),
    }
