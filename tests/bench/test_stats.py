"""Tests for bench.stats: known values, boundary rules, and agreement with numpy/scipy references."""

from __future__ import annotations

import json
import math
import statistics
import time

import numpy as np
import pytest
from scipy import stats as sps
from scipy.stats import mstats

from bench.stats import (
    RatioCI,
    Stats,
    _bootstrap_medians,
    format_ns,
    is_noisy,
    mann_whitney,
    min_samples,
    paired_ratio_ci,
    ratio_ci,
    steady_state,
)


def _type7(sorted_x: list[float], p: float) -> float:
    """Hyndman & Fan type 7, written out by hand as an independent reference."""
    h = (len(sorted_x) - 1) * p / 100
    j = math.floor(h)
    if j + 1 >= len(sorted_x):
        return sorted_x[-1]
    return sorted_x[j] + (h - j) * (sorted_x[j + 1] - sorted_x[j])


# --- percentiles -------------------------------------------------------------------------------------------


def test_percentiles_of_1_to_100_hand_computed() -> None:
    s = Stats(range(1, 101))
    # h = 99 p: p50 -> 49.5 -> 50.5; p90 -> 89.1 -> 90.1; p95 -> 94.05 -> 95.05.
    assert s.median == 50.5
    assert s.p50 == pytest.approx(50.5, abs=1e-12)
    assert s.p90 == pytest.approx(90.1, abs=1e-12)
    assert s.p95 == pytest.approx(95.05, abs=1e-12)
    assert s.p99 is None  # 100 samples < 500
    assert s.iqr == pytest.approx(75.25 - 25.75, abs=1e-12)
    assert (s.min, s.max, s.n, s.mean) == (1.0, 100.0, 100, 50.5)


def test_p99_of_1_to_500_hand_computed() -> None:
    s = Stats(np.arange(500, 0, -1))  # unsorted input on purpose
    # h = 499 * 0.99 = 494.01 -> x[494] + 0.01 * (x[495] - x[494]) = 495.01
    assert s.p99 == pytest.approx(495.01, abs=1e-9)


@pytest.mark.parametrize("p", [10, 25, 50, 75, 90, 95, 99, 99.9])
def test_percentiles_match_numpy_scipy_and_formula(p: float) -> None:
    x = np.random.default_rng(7).lognormal(12, 0.5, size=5000)
    got = Stats(x).percentile(p)
    assert got == pytest.approx(np.percentile(x, p), rel=1e-12)
    # mquantiles with alphap = betap = 1 is type 7 in an independent implementation.
    assert got == pytest.approx(float(mstats.mquantiles(x, [p / 100], alphap=1, betap=1)[0]), rel=1e-12)
    assert got == pytest.approx(_type7(sorted(x.tolist()), p), rel=1e-12)


# --- percentile-availability rule --------------------------------------------------------------------------


def test_min_samples_thresholds() -> None:
    assert [min_samples(p) for p in (50, 90, 95, 99, 99.9)] == [10, 50, 100, 500, 5000]
    # Lower tail is symmetric, extremes are never "percentiles".
    assert min_samples(10) == min_samples(90) == 50
    assert min_samples(1) == 500
    assert min_samples(0) is None and min_samples(100) is None
    with pytest.raises(ValueError):
        min_samples(101)


@pytest.mark.parametrize(("attr", "need"), [("p50", 10), ("p90", 50), ("p95", 100), ("p99", 500)])
def test_percentile_reported_exactly_from_threshold(attr: str, need: int) -> None:
    rng = np.random.default_rng(need)
    assert getattr(Stats(rng.random(need - 1) + 1), attr) is None
    assert getattr(Stats(rng.random(need) + 1), attr) is not None


@pytest.mark.parametrize("p", [50, 90, 95, 99])
def test_threshold_admits_a_distribution_free_95_interval(p: float) -> None:
    # The rule's justification: at the threshold, P(no sample beyond the true quantile) < 2.5%,
    # so a two-sided 95% order-statistic interval for the quantile exists.
    n = min_samples(p)
    assert (p / 100) ** n < 0.025
    assert sps.binom.cdf(4, n, 1 - p / 100) < 0.5  # ~5 expected in the tail


def test_median_always_available_even_when_p50_is_not() -> None:
    s = Stats([3, 1, 2])
    assert s.median == 2.0 and s.p50 is None and s.percentile(50) is None


# --- spread ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.1, 1234.0, 7])
def test_std_and_cv_of_constant_sample_are_exactly_zero(value: float) -> None:
    s = Stats([value] * 1001)
    assert s.std == 0.0 and s.cv == 0.0 and s.iqr == 0.0 and s.outliers == 0
    assert not is_noisy(s)


def test_std_single_sample_and_all_zero() -> None:
    assert Stats([42]).std == 0.0
    assert Stats([0, 0, 0]).cv == 0.0


def test_std_is_sample_std_and_cv() -> None:
    x = [1.0, 2.0, 4.0, 8.0, 16.0]
    s = Stats(x)
    assert s.std == pytest.approx(statistics.stdev(x), rel=1e-12)
    assert s.cv == pytest.approx(statistics.stdev(x) / statistics.mean(x), rel=1e-12)


def test_is_noisy_threshold() -> None:
    s = Stats([90, 110] * 50)  # cv ~ 0.1005
    assert is_noisy(s, cv_threshold=0.1)
    assert not is_noisy(s, cv_threshold=0.11)


def test_tukey_outliers() -> None:
    # 1..20: Q1 = 5.75, Q3 = 15.25, fences [-8.5, 29.5]
    assert Stats(list(range(1, 21))).outliers == 0
    # 1..20, 31: Q1 = 6, Q3 = 16, upper fence exactly 31, which counts as inside.
    assert Stats([*range(1, 21), 31]).outliers == 0
    assert Stats([*range(1, 21), 31.5]).outliers == 1
    # 1..20, 40, 1000: Q1 = 6.25, Q3 = 16.75, upper fence 32.5.
    assert Stats([*range(1, 21), 1000, 40]).outliers == 2
    # Low side: 0, 1..20, 30 gives Q1 = 5.25, Q3 = 15.75, lower fence -10.5; nothing is below it,
    # while 1, 100..119 has Q1 = 104, Q3 = 114, lower fence 89, so 1 is a low outlier.
    assert Stats([0, *range(1, 21), 30]).outliers == 0
    assert Stats([1, *range(100, 120)]).outliers == 1
    assert Stats([90, *range(100, 120)]).outliers == 0  # between the 1.0 and 1.5 IQR fences


# --- median confidence intervals ---------------------------------------------------------------------------


def test_median_ci_reproducible_and_seed_dependent() -> None:
    x = np.random.default_rng(1).normal(1e6, 1e5, size=1001)
    a, b = Stats(x, seed=3).median_ci, Stats(x, seed=3).median_ci
    assert a == b
    assert Stats(x, seed=4).median_ci != a
    assert a[0] < Stats(x).median < a[1]


def test_median_ci_contains_true_median_of_large_normal_sample() -> None:
    mu = 1e6
    s = Stats(np.random.default_rng(2).normal(mu, 1e5, size=100_000))
    low, high = s.median_ci
    assert low < mu < high
    # Asymptotic width: 2 * 1.96 * sigma * sqrt(pi / 2n) ~ 1.55e3 ns.
    assert 1.0e3 < high - low < 2.2e3


def test_median_ci_has_nominal_coverage() -> None:
    rng = np.random.default_rng(11)
    hits = sum(
        low < 10 < high
        for low, high in (Stats(rng.normal(10, 1, 101), seed=i, resamples=1000).median_ci for i in range(400))
    )
    assert 0.90 <= hits / 400 <= 0.99


@pytest.mark.parametrize("n", [1, 2, 15, 16])
def test_order_statistic_bootstrap_matches_naive_resampling(n: int) -> None:
    x = np.sort(np.random.default_rng(n).lognormal(size=n))
    draws = 100_000
    naive = np.median(x[np.random.default_rng(0).integers(0, n, size=(draws, n))], axis=1)
    fast = _bootstrap_medians(x, draws, np.random.default_rng(1))
    support = np.union1d(naive, fast)
    cdf = [np.searchsorted(np.sort(d), support, side="right") / draws for d in (naive, fast)]
    # Kolmogorov distance; sampling noise is ~0.005 at 100k draws, a wrong Beta rank gives > 0.05.
    assert np.max(np.abs(cdf[0] - cdf[1])) < 0.01


def test_median_ci_exact_matches_scipy_quantile_test() -> None:
    for n in (6, 7, 10, 101, 1000):
        x = np.random.default_rng(n).lognormal(size=n)
        ref = sps.quantile_test(x, q=np.median(x), p=0.5).confidence_interval(0.95)
        assert Stats(x).median_ci_exact == (ref.low, ref.high)


def test_median_ci_exact_hand_computed_and_small_n() -> None:
    # n = 100: P(Bin(100, .5) <= 39) = 0.0176 <= 0.025 < P(<= 40), so [x_(40), x_(61)].
    assert Stats(range(1, 101)).median_ci_exact == (40.0, 61.0)
    assert Stats([1, 2, 3, 4, 5]).median_ci_exact is None  # 2 / 2^5 > 5%
    assert Stats(range(6)).median_ci_exact == (0.0, 5.0)


@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.95, 0.99])
def test_median_ci_exact_rank_is_the_tightest_admissible(confidence: float) -> None:
    half_alpha = (1 - confidence) / 2
    for n in range(2, 300):
        ci = Stats(range(n), confidence=confidence).median_ci_exact
        if ci is None:
            assert 2 * 0.5**n > 1 - confidence
            continue
        r = int(ci[0]) + 1  # 1-based rank of the lower end
        assert ci[1] == n - r  # symmetric: x_(n+1-r)
        assert sps.binom.cdf(r - 1, n, 0.5) <= half_alpha < sps.binom.cdf(r, n, 0.5)


def test_median_ci_exact_tie_at_alpha_admits_the_rank() -> None:
    # n = 2, 50%: P(B <= 0) = 0.25 exactly, so [x_(1), x_(2)] has coverage exactly 50% and is allowed.
    assert Stats([1, 2], confidence=0.5).median_ci_exact == (1.0, 2.0)


def test_exact_and_bootstrap_median_ci_roughly_agree() -> None:
    s = Stats(np.random.default_rng(5).lognormal(13, 0.4, size=20_000))
    (b_lo, b_hi), (e_lo, e_hi) = s.median_ci, s.median_ci_exact
    width = e_hi - e_lo
    assert abs(b_lo - e_lo) < 0.2 * width and abs(b_hi - e_hi) < 0.2 * width
    assert (b_hi - b_lo) == pytest.approx(width, rel=0.25)


def test_median_ci_fast_for_100k_samples() -> None:
    x = np.random.default_rng(0).lognormal(13, 0.3, size=100_000)
    start = time.perf_counter()
    Stats(x).median_ci  # noqa: B018 - the property access is the work being timed
    assert time.perf_counter() - start < 0.5


# --- throughput and summary --------------------------------------------------------------------------------


def test_throughput_from_median_and_its_interval() -> None:
    s = Stats(np.random.default_rng(3).normal(1e6, 1e4, size=1000), batch_size=32)
    assert s.throughput == pytest.approx(32 / (s.median * 1e-9))
    low, high = s.throughput_ci
    assert low == pytest.approx(32e9 / s.median_ci[1]) and high == pytest.approx(32e9 / s.median_ci[0])
    assert low < s.throughput < high
    assert Stats([0, 0, 0]).throughput is None and Stats([0, 0, 0]).throughput_ci is None


def test_summary_is_json_ready() -> None:
    summary = Stats(np.arange(1, 61) * 1000, batch_size=4).summary()
    json.dumps(summary, allow_nan=False)
    assert summary["p90"] is not None and summary["p95"] is None and summary["p99"] is None
    assert summary["n"] == 60 and summary["unit"] == "ns" and len(summary["median_ci"]) == 2
    assert all(type(v) in (int, float, str, list, type(None)) for v in summary.values())


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [1.0, float("inf")], [5, -1], [[1, 2], [3, 4]]])
def test_invalid_samples_rejected(bad: list) -> None:
    with pytest.raises(ValueError):
        Stats(bad)


def test_invalid_settings_rejected() -> None:
    for kwargs in ({"batch_size": 0}, {"resamples": 0}, {"confidence": 1.0}):
        with pytest.raises(ValueError):
            Stats([1, 2, 3], **kwargs)


def test_stats_does_not_alias_caller_array() -> None:
    x = np.array([3.0, 1.0, 2.0])
    s = Stats(x)
    x[:] = 100.0
    assert s.median == 2.0 and s.max == 3.0


# --- steady state ------------------------------------------------------------------------------------------


def test_steady_state_true_and_false() -> None:
    assert steady_state([100] * 20, window=10, rel_tol=0.01)
    assert steady_state([0] * 20, window=10, rel_tol=0.0)
    warming = [200] * 10 + [100] * 10
    assert not steady_state(warming, window=10, rel_tol=0.05)
    assert steady_state(warming + [101] * 10, window=10, rel_tol=0.05)
    assert not steady_state([100] * 19, window=10, rel_tol=0.5)  # fewer than two windows
    assert not steady_state([100] * 10 + [104] * 10, window=10, rel_tol=0.04)  # strict: 4% is not < 4%


@pytest.mark.parametrize("spike_at", [5, 15])
def test_steady_state_ignores_a_single_spike(spike_at: int) -> None:
    x = [100.0] * 20
    x[spike_at] = 100_000.0  # e.g. a GC pause, in the previous window (5) or the last one (15)
    assert steady_state(x, window=10, rel_tol=0.01)
    assert abs(np.mean(x[-10:]) - np.mean(x[-20:-10])) > 0.01 * 100  # a mean-based check would not settle


# --- two-sample comparisons --------------------------------------------------------------------------------


def test_ratio_ci_tight_30_percent_shift_excludes_one() -> None:
    rng = np.random.default_rng(8)
    base, cand = rng.normal(1e6, 2e4, size=200), rng.normal(1.3e6, 2.6e4, size=200)
    r = ratio_ci(base, cand, seed=0)
    assert isinstance(r, RatioCI)
    assert r.ratio == pytest.approx(np.median(cand) / np.median(base))
    assert 1.0 < r.low < r.ratio < r.high
    assert r.low == pytest.approx(1.3, rel=0.03) and r.high == pytest.approx(1.3, rel=0.03)
    assert ratio_ci(base, cand, seed=0) == r  # reproducible


def test_ratio_ci_heavy_noise_includes_one() -> None:
    rng = np.random.default_rng(9)
    base, cand = rng.lognormal(13, 1.0, size=30), 1.3 * rng.lognormal(13, 1.0, size=30)
    r = ratio_ci(base, cand, seed=0)
    assert r.low < 1.0 < r.high


def test_ratio_ci_zero_heavy_samples_give_no_nan() -> None:
    # Resampled medians are often 0 on both sides here; 0/0 counts as "no change", not NaN.
    r = ratio_ci([0, 0, 1, 1, 1], [0, 0, 1, 1, 1], seed=0)
    assert r.ratio == 1.0 and not math.isnan(r.low) and not math.isnan(r.high) and r.low <= 1.0 <= r.high


def test_paired_ratio_ci_pairs_rounds_and_the_median_outvotes_a_loaded_round() -> None:
    base = [100.0, 110.0, 300.0, 105.0, 95.0]  # round 3: a load hit the baseline cell alone
    cand = [50.0, 55.0, 50.0, 52.5, 47.5]
    r = paired_ratio_ci(base, cand, seed=0)
    assert r.ratio == pytest.approx(0.5)  # the pooled medians would give 50 / 105
    assert r.low == pytest.approx(50 / 300) and r.high == pytest.approx(0.5)  # five rounds: min..max
    assert paired_ratio_ci(base, cand, seed=0) == r  # reproducible


def test_paired_ratio_ci_of_a_steady_ratio_is_a_point_and_uses_the_common_rounds() -> None:
    # A load on both cells of a round moves the pair together: the ratio does not see it.
    r = paired_ratio_ci([100.0, 400.0, 100.0, 100.0], [200.0, 800.0, 200.0, 200.0, 999.0], seed=1)
    assert (r.ratio, r.low, r.high) == (2.0, 2.0, 2.0)
    with pytest.raises(ValueError):
        paired_ratio_ci([100.0, 0.0], [1.0, 1.0])


def test_ratio_ci_rejects_zero_baseline_median() -> None:
    with pytest.raises(ValueError):
        ratio_ci([0, 0, 1], [1, 2, 3])


def test_mann_whitney_matches_scipy() -> None:
    rng = np.random.default_rng(10)
    for a, b in [
        (rng.normal(10, 1, 40), rng.normal(10.5, 1, 50)),  # asymptotic
        ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]),  # exact, p = 2 / C(6, 3)
        (rng.integers(0, 5, 30), rng.integers(0, 5, 30)),  # ties
    ]:
        ref = sps.mannwhitneyu(a, b, alternative="two-sided").pvalue
        assert mann_whitney(a, b) == pytest.approx(ref, rel=1e-12)
    assert mann_whitney([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1)


# --- formatting --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0 ns"),
        (0.5, "0.500 ns"),
        (1, "1.00 ns"),
        (12.345, "12.3 ns"),
        (999.4, "999 ns"),
        (999.6, "1.00 \u00b5s"),
        (1234, "1.23 \u00b5s"),
        (12_345, "12.3 \u00b5s"),
        (123_456, "123 \u00b5s"),
        (999_999, "1.00 ms"),
        (45_600_000, "45.6 ms"),
        (2.5e9, "2.50 s"),
        (1.2345e12, "1230 s"),
        (-1500, "-1.50 \u00b5s"),
        (None, "n/a"),
    ],
)
def test_format_ns(value: float | None, text: str) -> None:
    assert format_ns(value) == text
