import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from daft.core.errors import UserError
from daft.training import diagnostics
from daft.training.diagnostics import collapse_report, effective_rank, knn_kl_divergence, mean_pairwise_cosine


def gaussian_kl(d: int, mu: np.ndarray, sigma: float) -> float:
    """Closed-form KL( N(0, I) || N(mu, sigma^2 I) ) in d dimensions."""
    return 0.5 * (d / sigma**2 + float(mu @ mu) / sigma**2 - d + d * math.log(sigma**2))


def brute_force_kl(p: np.ndarray, q: np.ndarray, k: int) -> float:
    """The Wang-Kulkarni-Verdu estimator from full float64 distance matrices."""
    n, d = p.shape
    within = cdist(p, p)
    np.fill_diagonal(within, np.inf)
    rho = np.sort(within, axis=1)[:, k - 1]
    nu = np.sort(cdist(p, q), axis=1)[:, k - 1]
    return d * float(np.mean(np.log(nu / rho))) + math.log(q.shape[0] / (n - 1))


def unit_rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# -- k-NN KL divergence ---------------------------------------------------------------------------------


@pytest.fixture(params=["faiss", "numpy"])
def candidates(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Neighbour candidates from faiss, or from the numpy brute force used where faiss is not installed."""
    if request.param == "numpy":
        monkeypatch.setattr(diagnostics, "faiss", None)
    return request.param


@pytest.mark.parametrize(
    ("d", "shift", "sigma"),
    [
        (2, 1.0, 1.5),  # closed form 0.4776
        (5, 1.0, 1.5),  # closed form 0.8607
    ],
)
def test_knn_kl_matches_closed_form_for_gaussians(d, shift, sigma):
    # k = 1 with n = m = 5000 has a standard deviation of ~0.04 nats here, so average 4 independent
    # replicates (sd ~0.02) and allow 15%; the d = 5 case also carries a ~+8% finite-sample bias.
    mu = np.zeros(d)
    mu[0] = shift
    estimates = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        p = rng.standard_normal((5000, d))
        q = mu + sigma * rng.standard_normal((5000, d))
        estimates.append(knn_kl_divergence(p, q))
    expected = gaussian_kl(d, mu, sigma)
    assert np.mean(estimates) == pytest.approx(expected, rel=0.15)


@pytest.mark.parametrize("d", [2, 5])
def test_knn_kl_of_a_distribution_with_itself_is_near_zero(d):
    rng = np.random.default_rng(10 + d)
    p = rng.standard_normal((5000, d))
    q = rng.standard_normal((5000, d))
    assert knn_kl_divergence(p, q) == pytest.approx(0.0, abs=0.1)


@pytest.mark.parametrize("k", [1, 3])
def test_knn_kl_equals_brute_force(k, candidates):
    rng = np.random.default_rng(20)
    p = rng.standard_normal((300, 16)) + 3.0  # off-centre, to exercise the centring
    q = 1.3 * rng.standard_normal((250, 16))
    assert knn_kl_divergence(p, q, k=k) == pytest.approx(brute_force_kl(p, q, k), rel=1e-9)


def test_numpy_candidates_give_what_faiss_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    # The validation shape: 2,000 unit vectors of 384 dimensions on each side, some duplicated.
    rng = np.random.default_rng(22)
    docs, queries = unit_rows(rng, 2000, 384), unit_rows(rng, 2000, 384)
    docs[1000:1010] = docs[0]
    with_faiss = [knn_kl_divergence(docs, queries, k=k) for k in (1, 3)]
    monkeypatch.setattr(diagnostics, "faiss", None)
    assert [knn_kl_divergence(docs, queries, k=k) for k in (1, 3)] == pytest.approx(with_faiss, rel=1e-12)


def test_knn_kl_accepts_torch_tensors():
    rng = np.random.default_rng(21)
    p, q = rng.standard_normal((200, 8)), rng.standard_normal((150, 8))
    as_tensors = knn_kl_divergence(torch.from_numpy(p).float(), torch.from_numpy(q).float())
    assert as_tensors == pytest.approx(knn_kl_divergence(p.astype(np.float32), q.astype(np.float32)))


@pytest.mark.parametrize("noise", [0.0, 1e-6])
def test_knn_kl_is_large_and_finite_for_a_collapsed_query_encoder(noise, candidates):
    rng = np.random.default_rng(30)
    docs = unit_rows(rng, 500, 384)  # the doc encoder's vectors of 500 validation documents
    healthy = unit_rows(rng, 500, 384)  # an independent sample of the same distribution
    constant = unit_rows(rng, 1, 384)
    collapsed = constant + noise * rng.standard_normal((500, 384))
    kl_healthy = knn_kl_divergence(docs, healthy)
    kl_collapsed = knn_kl_divergence(docs, collapsed)
    assert math.isfinite(kl_collapsed)
    assert kl_collapsed > 20.0
    assert kl_collapsed > abs(kl_healthy) + 20.0


def test_knn_kl_is_finite_with_duplicate_and_shared_points(candidates):
    rng = np.random.default_rng(31)
    p = rng.standard_normal((200, 10))
    p[100:110] = p[0]  # duplicate documents: rho = 0 for eleven rows
    q = rng.standard_normal((200, 10))
    q[0] = p[5]  # a q on top of a p: nu = 0 for that row
    clean = knn_kl_divergence(np.delete(p, np.s_[100:110], axis=0), q)
    dirty = knn_kl_divergence(p, q)
    assert math.isfinite(dirty)
    assert dirty > clean + 5.0  # each duplicate adds ~ d/n * log(nu / eps), a visible artefact
    everything_equal = np.ones((50, 4))
    assert knn_kl_divergence(everything_equal, everything_equal) == pytest.approx(math.log(50 / 49))


def test_knn_kl_of_a_sample_with_itself_is_about_zero(candidates):
    # A symmetric pair embeds the validation documents identically on both sides: D(P||P) = 0, not -23 d.
    p = np.random.default_rng(5).standard_normal((300, 16))
    assert knn_kl_divergence(p, p.copy()) == pytest.approx(math.log(300 / 299), abs=1e-9)


def test_knn_kl_bad_input():
    with pytest.raises(UserError, match="k=3"):
        knn_kl_divergence(np.zeros((3, 2)), np.zeros((5, 2)), k=3)
    with pytest.raises(UserError, match="positive integer"):
        knn_kl_divergence(np.zeros((5, 2)), np.zeros((5, 2)), k=0)
    with pytest.raises(ValueError, match="same dimension"):
        knn_kl_divergence(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        knn_kl_divergence(np.full((5, 2), np.nan), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="2-D"):
        knn_kl_divergence(np.zeros(5), np.zeros((5, 1)))


# -- effective rank ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("r", [1, 2, 7, 32])
def test_effective_rank_of_r_equal_singular_values_is_r(r):
    rng = np.random.default_rng(r)
    u, _ = np.linalg.qr(rng.standard_normal((100, r)))
    v, _ = np.linalg.qr(rng.standard_normal((64, r)))
    x = 3.0 * u @ v.T
    assert effective_rank(x) == pytest.approx(r, rel=1e-9)


def test_effective_rank_of_rank_one_and_of_a_collapsed_encoder():
    rng = np.random.default_rng(40)
    assert effective_rank(np.outer(rng.standard_normal(50), rng.standard_normal(20))) == pytest.approx(1.0)
    # Noise must be tiny for ~1: the sum of singular values counts the many small noise directions, so
    # 1e-3 per coordinate (mean cosine 0.9996) already gives ~8 and 3e-3 (cosine 0.997) ~38.
    collapsed = unit_rows(rng, 1, 384) + 1e-5 * rng.standard_normal((500, 384))
    assert effective_rank(collapsed) < 1.5
    assert effective_rank(unit_rows(rng, 500, 384)) > 300


def test_effective_rank_by_hand():
    # Singular values 3 and 1: p = (3/4, 1/4), erank = exp(-(3/4) log(3/4) - (1/4) log(1/4)).
    expected = math.exp(-0.75 * math.log(0.75) - 0.25 * math.log(0.25))
    assert effective_rank(np.diag([3.0, 1.0])) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="all-zero"):
        effective_rank(np.zeros((3, 3)))


# -- mean pairwise cosine -------------------------------------------------------------------------------


def test_mean_pairwise_cosine_of_identical_rows_is_one():
    assert mean_pairwise_cosine(np.tile([[0.3, -2.0, 5.0]], (10, 1))) == pytest.approx(1.0, rel=1e-12)


def test_mean_pairwise_cosine_of_random_high_dimensional_rows_is_near_zero():
    rng = np.random.default_rng(50)
    assert mean_pairwise_cosine(rng.standard_normal((1000, 768))) == pytest.approx(0.0, abs=0.005)


def test_mean_pairwise_cosine_equals_brute_force():
    rng = np.random.default_rng(51)
    x = rng.standard_normal((200, 12)) + 0.5  # a shared offset, so the mean is clearly non-zero
    x[7] = 0.0  # a zero row: cosine 0 with everything, as F.normalize would give
    units = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)
    cos = units @ units.T
    brute = (cos.sum() - np.trace(cos)) / (200 * 199)
    assert mean_pairwise_cosine(x) == pytest.approx(brute, rel=1e-10)
    assert 0.1 < brute < 0.9
    two = np.array([[1.0, 0.0], [-1.0, 0.0]])
    assert mean_pairwise_cosine(two) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="at least 2"):
        mean_pairwise_cosine(np.ones((1, 3)))


# -- report ----------------------------------------------------------------------------------------------


def test_collapse_report_returns_plain_floats():
    rng = np.random.default_rng(60)
    queries = unit_rows(rng, 100, 32)
    docs_by_doc_encoder = unit_rows(rng, 120, 32)
    docs_by_query_encoder = unit_rows(rng, 120, 32)
    report = collapse_report(queries, docs_by_doc_encoder, docs_by_query_encoder)
    assert set(report) == {"kl", "effective_rank", "mean_cosine"}
    assert all(type(value) is float for value in report.values())
    assert report["kl"] == knn_kl_divergence(docs_by_doc_encoder, docs_by_query_encoder)
    assert report["effective_rank"] == effective_rank(queries)
    assert report["mean_cosine"] == mean_pairwise_cosine(queries)
