"""Pure statistics for latency samples: summaries, percentiles, confidence intervals, tests.

No I/O, no timing, no torch: everything here takes raw samples (nanoseconds, one per timed call) and
returns numbers or JSON-ready dicts, so it can be tested exactly and reused by the reports and the CI gate.

Conventions and references:

* Percentiles use numpy's default ``method="linear"``, i.e. Hyndman & Fan (1996) definition 7 (also the
  default of R and Excel's PERCENTILE.INC): ``Q(p) = x[j] + g * (x[j+1] - x[j])`` with ``h = (n-1)p``,
  ``j = floor(h)``, ``g = h - j`` on the sorted sample (0-indexed).
  R. J. Hyndman and Y. Fan, "Sample quantiles in statistical packages", The American Statistician 50(4),
  361-365, 1996.
* A percentile is reported only when the sample can support it; see `min_samples` for the rule.
* Outliers follow Tukey's fences: below Q1 - 1.5 IQR or above Q3 + 1.5 IQR (J. W. Tukey, Exploratory Data
  Analysis, Addison-Wesley, 1977), as pytest-benchmark does.
* Bootstrap intervals are percentile bootstrap intervals (B. Efron and R. J. Tibshirani, An Introduction
  to the Bootstrap, Chapman & Hall, 1993, ch. 13). The bootstrap distribution of a median is simulated
  exactly through order statistics (see `_bootstrap_medians`) so that 100k samples cost milliseconds.
* The exact median interval is the distribution-free order-statistic interval (W. J. Conover, Practical
  Nonparametric Statistics, 3rd ed., Wiley, 1999, sec. 3.2; G. J. Hahn and W. Q. Meeker, Statistical
  Intervals, Wiley, 1991, ch. 5).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = [
    "MIN_TAIL_SAMPLES",
    "RatioCI",
    "Stats",
    "format_ns",
    "is_noisy",
    "mann_whitney",
    "min_samples",
    "paired_ratio_ci",
    "ratio_ci",
    "steady_state",
]

# Expected number of samples in the sparser tail beyond a percentile before that percentile is reported.
MIN_TAIL_SAMPLES = 5

_NS_PER_S = 1e9


def min_samples(p: float, tail: int = MIN_TAIL_SAMPLES) -> int | None:
    """Fewest samples for which percentile `p` (0-100) is reported: ``ceil(tail / min(p, 100-p) * 100)``.

    Rule: report the p-th percentile only if the expected number of samples beyond it, on its sparser side,
    is at least ``tail`` (default 5), i.e. ``n * min(p, 100 - p) / 100 >= 5``. That gives p50: 10,
    p90: 50, p95: 100, p99: 500, p99.9: 5000; p0 and p100 are never reported (use ``min``/``max``).

    Why: the number of samples above the true p-quantile is Binomial(n, 1 - p/100), and every
    distribution-free statement about a sample quantile (its order-statistic confidence interval, Conover
    1999 sec. 3.2) rests on that binomial. "Expected count >= 5" is the classic rule of thumb for the
    binomial (and chi-square) normal approximation to be usable (W. G. Cochran, "Some methods for
    strengthening the common chi-square tests", Biometrics 10(4), 417-451, 1954; J. L. Devore,
    Probability and Statistics for Engineering and the Sciences, ch. 4). It also guarantees, at every
    threshold, that a two-sided 95% distribution-free interval for the quantile exists (the chance that no
    sample lies beyond the true quantile is about e^-5 = 0.7% < 2.5%, Hahn & Meeker 1991 ch. 5); below it,
    a "p99" is essentially the maximum of the sample and says more about the sample size than the tail.
    Returns None when no sample size suffices (p == 0 or p == 100).
    """
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be in [0, 100], got {p!r}")
    # Exact rational arithmetic: in floats, 5 / (1 - 0.90) is 50.000000000000014 and would ceil to 51.
    tail_pct = min(Fraction(repr(float(p))), 100 - Fraction(repr(float(p))))
    if tail_pct == 0:
        return None
    return math.ceil(tail * 100 / tail_pct)


def _as_samples(samples: npt.ArrayLike, name: str = "samples") -> np.ndarray:
    """Validate and convert latency samples to a 1-D float64 array (copied, so callers can't mutate it)."""
    arr = np.array(samples, dtype=np.float64, copy=True)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(arr < 0):
        raise ValueError(f"{name} contains negative latencies")
    return arr


def _check_bootstrap_args(resamples: int, confidence: float) -> None:
    """Reject bootstrap settings that would make the interval meaningless."""
    if int(resamples) != resamples or resamples < 1:
        raise ValueError(f"resamples must be a positive integer, got {resamples!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def _bootstrap_medians(sorted_x: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Medians of `resamples` bootstrap resamples of `sorted_x`, drawn exactly in O(resamples) time.

    A resample draws indices floor(n * U_i) with U_1..U_n iid Uniform(0, 1). That map is non-decreasing,
    so the k-th smallest resampled value is sorted_x[floor(n * U_(k))]: only the uniform order statistics
    at the median are needed, and U_(k) ~ Beta(k, n - k + 1) (H. A. David and H. N. Nagaraja, Order
    Statistics, 3rd ed., 2003, ch. 2). For even n, numpy's median also needs U_(k+1); given U_(k) = u,
    the other n - k uniforms are iid Uniform(u, 1), so U_(k+1) = u + (1 - u) * V with V ~ Beta(1, n - k).
    This has exactly the distribution of np.median over materialised resamples, without the
    n * resamples index matrix (1.6 GB and seconds for n = 100k, B = 2000).
    """
    n = sorted_x.size
    k = (n + 1) // 2  # 1-based rank of the (lower) middle order statistic
    u_k = rng.beta(k, n - k + 1, size=resamples)
    # U can round to 1.0 in float64; clip keeps the index in range without changing the distribution.
    lower = sorted_x[np.minimum((n * u_k).astype(np.int64), n - 1)]
    if n % 2:
        return lower
    u_next = u_k + (1.0 - u_k) * rng.beta(1, n - k, size=resamples)
    upper = sorted_x[np.minimum((n * u_next).astype(np.int64), n - 1)]
    return (lower + upper) / 2.0


def _percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """Equal-tailed percentile interval of a bootstrap distribution (Efron & Tibshirani 1993, ch. 13)."""
    alpha = 1.0 - confidence
    if np.all(np.isfinite(values)):
        low, high = np.quantile(values, [alpha / 2.0, 1.0 - alpha / 2.0])
    else:
        # Interpolating between two infinite ratios gives inf - inf = NaN; take the outer order statistics.
        low = np.quantile(values, alpha / 2.0, method="lower")
        high = np.quantile(values, 1.0 - alpha / 2.0, method="higher")
    return float(low), float(high)


@dataclass(frozen=True, eq=False)
class Stats:
    """Summary statistics of latency samples in nanoseconds; every statistic is computed once, on demand.

    `samples` holds one wall-clock duration per timed call and `batch_size` the number of items each call
    processed. `seed`, `resamples` and `confidence` fix the bootstrap so that a report is reproducible.
    """

    samples: npt.ArrayLike = field(repr=False)
    batch_size: int = 1
    seed: int = 0
    resamples: int = 2000
    confidence: float = 0.95

    def __post_init__(self) -> None:
        arr = _as_samples(self.samples)
        arr.sort()
        # Sorted and read-only: order statistics are then O(1), and cached properties can't go stale.
        arr.flags.writeable = False
        object.__setattr__(self, "samples", arr)
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        _check_bootstrap_args(self.resamples, self.confidence)

    def __repr__(self) -> str:
        return (
            f"Stats(n={self.n}, median={format_ns(self.median)}, p99={format_ns(self.p99)}, "
            f"cv={self.cv:.3f}, batch_size={self.batch_size})"
        )

    @property
    def _x(self) -> np.ndarray:
        """The samples, sorted ascending (float64 ns)."""
        return self.samples  # type: ignore[return-value]

    @cached_property
    def n(self) -> int:
        """Number of samples."""
        return int(self._x.size)

    @cached_property
    def mean(self) -> float:
        """Arithmetic mean (ns)."""
        return float(np.mean(self._x))

    @cached_property
    def std(self) -> float:
        """Sample standard deviation with ddof=1 (ns); 0 for fewer than two samples."""
        # The min == max shortcut keeps a constant sample at exactly 0: rounding in the mean of e.g. 0.1
        # repeated can otherwise leave a 1e-17 residue that makes `cv` nonzero.
        if self.n < 2 or self.min == self.max:
            return 0.0
        return float(np.std(self._x, ddof=1))

    @cached_property
    def cv(self) -> float:
        """Coefficient of variation, std / mean (dimensionless); 0 when the mean is 0."""
        # Samples are non-negative, so mean == 0 means every sample is 0 and std is 0 too.
        return self.std / self.mean if self.mean > 0 else 0.0

    @cached_property
    def min(self) -> float:
        """Smallest sample (ns)."""
        return float(self._x[0])

    @cached_property
    def max(self) -> float:
        """Largest sample (ns)."""
        return float(self._x[-1])

    @cached_property
    def median(self) -> float:
        """Sample median (ns), always available; `p50` is the same value but obeys `min_samples`."""
        return float(np.median(self._x))

    def percentile(self, p: float) -> float | None:
        """The p-th percentile (0-100, Hyndman & Fan type 7), or None if n < `min_samples`(p)."""
        need = min_samples(p)
        if need is None or self.n < need:
            return None
        return float(np.percentile(self._x, p, method="linear"))

    @cached_property
    def p50(self) -> float | None:
        """50th percentile (ns); needs 10 samples."""
        return self.percentile(50)

    @cached_property
    def p90(self) -> float | None:
        """90th percentile (ns); needs 50 samples."""
        return self.percentile(90)

    @cached_property
    def p95(self) -> float | None:
        """95th percentile (ns); needs 100 samples."""
        return self.percentile(95)

    @cached_property
    def p99(self) -> float | None:
        """99th percentile (ns); needs 500 samples."""
        return self.percentile(99)

    @cached_property
    def _quartiles(self) -> tuple[float, float]:
        """Q1 and Q3 (type 7), computed regardless of `min_samples`: the IQR is a spread, not a tail."""
        q1, q3 = np.percentile(self._x, [25, 75], method="linear")
        return float(q1), float(q3)

    @cached_property
    def iqr(self) -> float:
        """Interquartile range Q3 - Q1 (ns)."""
        q1, q3 = self._quartiles
        return q3 - q1

    @cached_property
    def outliers(self) -> int:
        """Number of samples outside Tukey's fences [Q1 - 1.5 IQR, Q3 + 1.5 IQR]."""
        q1, q3 = self._quartiles
        low, high = q1 - 1.5 * self.iqr, q3 + 1.5 * self.iqr
        # The samples are sorted, so two binary searches count both tails.
        below = int(np.searchsorted(self._x, low, side="left"))
        above = self.n - int(np.searchsorted(self._x, high, side="right"))
        return below + above

    @cached_property
    def median_ci(self) -> tuple[float, float]:
        """Percentile-bootstrap `confidence` interval of the median (ns), reproducible from `seed`."""
        rng = np.random.default_rng(self.seed)
        return _percentile_interval(_bootstrap_medians(self._x, self.resamples, rng), self.confidence)

    @cached_property
    def median_ci_exact(self) -> tuple[float, float] | None:
        """Distribution-free order-statistic interval of the median (ns), coverage >= `confidence`.

        The interval is [x_(r), x_(n+1-r)] (1-based) with r the largest rank such that
        P(Binomial(n, 1/2) <= r - 1) <= (1 - confidence) / 2 (Conover 1999, sec. 3.2). It needs no
        resampling and holds for any continuous distribution; it is conservative, as the binomial is
        discrete. None when n is too small for any such r (n < 6 at 95%).
        """
        from scipy.stats import binom  # scipy.stats takes seconds to import: only where it is used

        half_alpha = (1.0 - self.confidence) / 2.0
        cdf = binom(self.n, 0.5).cdf
        # ppf is the smallest r with P(B <= r) >= half_alpha; the loops settle ties (P(B <= r) equal to
        # half_alpha admits x_(r+1)) and any rounding in ppf, so that P(B <= r-1) <= half_alpha < P(B <= r).
        r = int(binom.ppf(half_alpha, self.n, 0.5))
        while r > 0 and cdf(r - 1) > half_alpha:
            r -= 1
        while cdf(r) <= half_alpha:
            r += 1
        if r < 1:
            return None
        return float(self._x[r - 1]), float(self._x[self.n - r])

    @cached_property
    def throughput(self) -> float | None:
        """Items per second at the median latency, batch_size / median; None if the median is 0."""
        return self.batch_size * _NS_PER_S / self.median if self.median > 0 else None

    @cached_property
    def throughput_ci(self) -> tuple[float, float] | None:
        """`confidence` interval of `throughput` (items/s), mapped from `median_ci`; None if it touches 0.

        Percentile intervals are equivariant under monotone maps (Efron & Tibshirani 1993, ch. 13), so
        mapping the latency endpoints through batch_size / t (which reverses their order) is exactly the
        percentile-bootstrap interval of the throughput.
        """
        low, high = self.median_ci
        if low <= 0:
            return None
        return self.batch_size * _NS_PER_S / high, self.batch_size * _NS_PER_S / low

    def summary(self) -> dict[str, Any]:
        """JSON-ready dict of all statistics: latencies in ns, throughput in items/s, None if unsupported."""
        exact = self.median_ci_exact
        tput_ci = self.throughput_ci
        return {
            "unit": "ns",
            "n": self.n,
            "batch_size": int(self.batch_size),
            "mean": self.mean,
            "std": self.std,
            "cv": self.cv,
            "min": self.min,
            "max": self.max,
            "median": self.median,
            "p50": self.p50,
            "p90": self.p90,
            "p95": self.p95,
            "p99": self.p99,
            "iqr": self.iqr,
            "outliers": self.outliers,
            "median_ci": list(self.median_ci),
            "median_ci_exact": list(exact) if exact is not None else None,
            "throughput": self.throughput,
            "throughput_ci": list(tput_ci) if tput_ci is not None else None,
            "confidence": float(self.confidence),
            "resamples": int(self.resamples),
            "seed": int(self.seed),
        }


def steady_state(samples: Sequence[float] | npt.ArrayLike, window: int, rel_tol: float) -> bool:
    """True when the median of the last `window` samples is within `rel_tol` of the previous window's.

    Used by the warm-up loop: precisely, ``|m_last - m_prev| < rel_tol * m_prev`` (or both medians equal),
    and False while fewer than ``2 * window`` samples exist. Medians, not means: one GC pause or scheduler
    preemption can shift a window's mean by an arbitrary amount and keep warm-up from ever settling, while
    the median (breakdown point 50%) ignores it.
    """
    if int(window) != window or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    if rel_tol < 0:
        raise ValueError(f"rel_tol must be >= 0, got {rel_tol!r}")
    x = np.asarray(samples, dtype=np.float64)
    if x.size < 2 * window:
        return False
    prev = float(np.median(x[-2 * window : -window]))
    last = float(np.median(x[-window:]))
    return last == prev or abs(last - prev) < rel_tol * abs(prev)


def is_noisy(stats: Stats, cv_threshold: float = 0.1) -> bool:
    """True when the coefficient of variation exceeds `cv_threshold` (default 10%)."""
    return stats.cv > cv_threshold


class RatioCI(NamedTuple):
    """Ratio of medians, candidate / baseline (> 1: candidate slower), with its bootstrap interval."""

    ratio: float
    low: float
    high: float
    confidence: float


def ratio_ci(
    baseline: npt.ArrayLike,
    candidate: npt.ArrayLike,
    seed: int = 0,
    resamples: int = 2000,
    confidence: float = 0.95,
) -> RatioCI:
    """median(candidate) / median(baseline) with a two-sample percentile-bootstrap interval.

    Each set is resampled independently (Efron & Tibshirani 1993, ch. 8, the two-sample problem) and the
    interval is taken over the ratios of the resampled medians. An interval excluding 1.0 is a difference
    at the given confidence. A bound can be inf if resampled baseline medians hit 0 (mostly-zero baselines).
    """
    _check_bootstrap_args(resamples, confidence)
    base = np.sort(_as_samples(baseline, "baseline"))
    cand = np.sort(_as_samples(candidate, "candidate"))
    base_median = float(np.median(base))
    if base_median == 0:
        raise ValueError("baseline median is 0; the ratio of medians is undefined")
    rng = np.random.default_rng(seed)
    base_boot = _bootstrap_medians(base, int(resamples), rng)
    cand_boot = _bootstrap_medians(cand, int(resamples), rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = cand_boot / base_boot
    # 0/0 is possible only if both resampled medians are 0; call that "no change".
    ratios = np.where(np.isnan(ratios), 1.0, ratios)
    low, high = _percentile_interval(ratios, confidence)
    return RatioCI(float(np.median(cand)) / base_median, low, high, float(confidence))


def paired_ratio_ci(
    baseline: npt.ArrayLike,
    candidate: npt.ArrayLike,
    seed: int = 0,
    resamples: int = 2000,
    confidence: float = 0.95,
) -> RatioCI:
    """The median over rounds of candidate_i / baseline_i, with a percentile-bootstrap interval over rounds.

    `baseline[i]` and `candidate[i]` are the two cells' medians in round i of interleaved rounds: each pair
    shared the machine's state, so a load that came and went hits both sides of some pairs, or one side of
    a few pairs that the median over rounds then outvotes, where a ratio of two cells measured minutes apart
    takes the load whole. The rounds are the resampled unit, as the repeated executions are in Kalibera &
    Jones's hierarchical bootstrap of a ratio (T. Kalibera and R. Jones, "Rigorous benchmarking in
    reasonable time", ISMM 2013; Efron & Tibshirani 1993, ch. 13 for the percentile interval). With
    five rounds the 95% interval is about the smallest and largest pair ratio: a round that disagrees widens
    it, and so the ratio is marked, without moving the point estimate. Pairs beyond the shorter side are
    ignored (an interrupted run).
    """
    _check_bootstrap_args(resamples, confidence)
    n = min(np.size(baseline), np.size(candidate))
    base = _as_samples(np.asarray(baseline, dtype=np.float64)[:n], "baseline")
    cand = _as_samples(np.asarray(candidate, dtype=np.float64)[:n], "candidate")
    if np.any(base == 0):
        raise ValueError("a baseline round median is 0; the ratio of medians is undefined")
    ratios = np.sort(cand / base)
    boot = _bootstrap_medians(ratios, int(resamples), np.random.default_rng(seed))
    low, high = _percentile_interval(boot, confidence)
    return RatioCI(float(np.median(ratios)), low, high, float(confidence))


def mann_whitney(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Two-sided Mann-Whitney U test p-value (scipy.stats.mannwhitneyu, method="auto")."""
    from scipy.stats import mannwhitneyu

    x = _as_samples(a, "a")
    y = _as_samples(b, "b")
    return float(mannwhitneyu(x, y, alternative="two-sided").pvalue)


_UNITS = ((1e9, "s"), (1e6, "ms"), (1e3, "\u00b5s"), (1.0, "ns"))


def format_ns(value_ns: float | None) -> str:
    """Format a duration in ns with 3 significant digits in ns/µs/ms/s, e.g. "12.3 µs"; None -> "n/a"."""
    if value_ns is None:
        return "n/a"
    value = float(value_ns)
    if not math.isfinite(value):
        return f"{value} ns"
    if value == 0:
        return "0 ns"
    sign = "-" if value < 0 else ""
    # Round to 3 significant digits before picking the unit, so 999.7 ns prints as "1.00 µs", not "1000 ns".
    rounded = float(f"{abs(value):.3g}")
    scale, unit = next((s, u) for s, u in _UNITS if rounded >= s or u == "ns")
    scaled = rounded / scale
    decimals = max(0, 2 - math.floor(math.log10(scaled) + 1e-12))
    return f"{sign}{scaled:.{decimals}f} {unit}"
