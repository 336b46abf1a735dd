"""95 % confidence intervals of the figures (pure, standard library): how sure a figure is.

- A **percentile**'s interval is distribution-free, from order statistics: the number ``B`` of
  samples at or below the true q-quantile is Binomial(n, q), so the ranks ``lo`` and ``hi`` with
  ``P(lo <= B < hi) >= 95 %`` bound it (:func:`quantile_ranks`), and the interval is the values
  at those ranks in the exact histogram (:func:`quantile_interval_ms`). When a bound's rank falls
  outside the samples (a P99 of 100 calls has no upper one), that bound is None: not known.
  The lower bound is read as the lowest value of its histogram bucket, the upper one as the
  highest, so the histogram's 0.1 % never narrows the interval; over a coarse bucketed
  histogram (a server's Prometheus buckets) the bounds are the edges of the buckets holding
  those ranks (:func:`bucket_quantile_interval`). Binomial tails are summed exactly in log
  space around the mean (a window of ±12 standard deviations); past ``n·q·(1-q) > 400`` the
  normal approximation with continuity correction, which is then within one rank.
- A **rate** (count over a window) has the exact Poisson interval (Garwood's: the tails solved
  for exactly up to 100 events, past them chi-square quantiles by Wilson-Hilferty, within
  0.01 % there).
- A **share** (error rate, agent success) has Wilson's score interval.
- :func:`relative_half_width`: the larger distance from the figure to a bound, over the figure
  (None bound: infinite). A figure is **thin** past ±10 % (:data:`THIN`); :func:`samples_for`
  estimates the samples that would make it ±5 % (the half-width shrinks as 1/sqrt(n)).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Sequence
from statistics import NormalDist

from agentload.metrics.latency import Histogram, count, values_at_ranks_ms

CONFIDENCE = 0.95
THIN = 0.10  # a figure whose interval is wider than ±10 % of it is thin
PRECISE = 0.05  # the precision samples_for aims at
_NORMAL = NormalDist()
_EXACT_VARIANCE = 400.0
_EXACT_EVENTS = 100
Interval = tuple[float | None, float | None]


def _z(confidence: float) -> float:
    return _NORMAL.inv_cdf(0.5 + confidence / 2)


def _log_pmf(k: int, n: int, p: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )


def _binomial_cdfs(n: int, p: float) -> tuple[int, list[float]]:
    """``(start, cdf)``: ``cdf[i] = P(B <= start + i)`` over a window holding all but ~1e-30."""
    sd = math.sqrt(n * p * (1 - p))
    start = max(0, math.floor(n * p - 12 * sd - 12))
    stop = min(n, math.ceil(n * p + 12 * sd + 12))
    total, cdf = 0.0, []
    for k in range(start, stop + 1):
        total += math.exp(_log_pmf(k, n, p))
        cdf.append(total)
    return start, cdf


def quantile_ranks(n: int, q: float, confidence: float = CONFIDENCE) -> tuple[int, int]:
    """1-based ranks ``(lo, hi)`` of the order statistics bounding the q-quantile of ``n``
    samples with at least ``confidence``: ``P(lo <= B < hi) >= confidence`` for B ~ Bin(n, q).
    ``lo`` is 0 when no lower rank is low enough, ``hi`` is ``n + 1`` when no upper one is."""
    if n <= 0:
        return 0, 1
    tail = (1 - confidence) / 2
    if q <= 0 or q >= 1:
        return (0, n + 1)
    if n * q * (1 - q) > _EXACT_VARIANCE:
        mean, sd, z = n * q, math.sqrt(n * q * (1 - q)), _z(confidence)
        lo = math.floor(mean + 0.5 - z * sd)  # P(B <= lo - 1) <= tail (continuity corrected)
        hi = math.ceil(mean + 0.5 + z * sd)  # P(B >= hi) <= tail
        return max(lo, 0), min(hi, n + 1)
    start, cdf = _binomial_cdfs(n, q)

    def cdf_at(k: int) -> float:
        if k < start:
            return 0.0
        return cdf[k - start] if k - start < len(cdf) else 1.0

    lo = 0  # the largest lo with P(B <= lo - 1) <= tail
    for k in range(start, n + 1):
        if cdf_at(k) > tail:
            lo = k  # P(B <= k - 1) <= tail, P(B <= k) > tail
            break
    hi = n + 1  # the smallest hi with P(B >= hi) = 1 - P(B <= hi - 1) <= tail
    for k in range(max(start, lo), n + 1):
        if 1 - cdf_at(k) <= tail:
            hi = k + 1
            break
    return lo, hi


def quantile_interval_ms(
    hist: Histogram | None, q: float, confidence: float = CONFIDENCE
) -> Interval:
    """The interval of the ``q``-quantile (0-1) of an exact histogram, in ms; (None, None) when
    it has no samples."""
    n = count(hist)
    if hist is None or n == 0:
        return None, None
    lo_rank, hi_rank = quantile_ranks(n, q, confidence)
    lo = values_at_ranks_ms(hist, [lo_rank], lowest=True)[0] if lo_rank >= 1 else None
    hi = values_at_ranks_ms(hist, [hi_rank])[0] if hi_rank <= n else None
    return lo, hi


def bucket_quantile_interval(
    buckets: Sequence[tuple[float, float]], q: float, confidence: float = CONFIDENCE
) -> Interval:
    """The interval of the ``q``-quantile of a bucketed histogram (Prometheus' cumulative
    ``(le, count)`` pairs, ``le`` +Inf last): the lower edge of the bucket holding rank ``lo``
    and the upper edge of the one holding rank ``hi`` (None past the last finite edge)."""
    pairs = sorted(buckets)
    cumulative, most = [], 0.0
    for _, n in pairs:
        most = max(most, n)
        cumulative.append(most)
    total = int(round(cumulative[-1])) if cumulative else 0
    if total <= 0:
        return None, None
    lo_rank, hi_rank = quantile_ranks(total, q, confidence)
    lo = hi = None
    if lo_rank >= 1:
        index = bisect_left(cumulative, lo_rank)
        lo = pairs[index - 1][0] if index > 0 else 0.0
    if hi_rank <= total:
        edge = pairs[bisect_left(cumulative, hi_rank)][0]
        hi = edge if math.isfinite(edge) else None
    return lo, hi


def _chi2_ppf(p: float, df: float) -> float:
    """Wilson-Hilferty: the chi-square quantile (df >= 2 here)."""
    z = _NORMAL.inv_cdf(p)
    k = 2 / (9 * df)
    return df * max(0.0, 1 - k + z * math.sqrt(k)) ** 3


def _poisson_cdf(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean)."""
    if mean <= 0:
        return 1.0
    log_mean = math.log(mean)
    return sum(math.exp(i * log_mean - mean - math.lgamma(i + 1)) for i in range(k + 1))


def _solve(f: Callable[[float], float], target: float, hi: float) -> float:
    """The mean at which the decreasing ``f`` equals ``target`` (bisection on [0, hi])."""
    lo = 0.0
    for _ in range(60):
        middle = (lo + hi) / 2
        lo, hi = (middle, hi) if f(middle) > target else (lo, middle)
    return (lo + hi) / 2


def poisson_interval(events: int, seconds: float, confidence: float = CONFIDENCE) -> Interval:
    """The exact (Garwood) interval of a rate: ``events`` counted over ``seconds``, per second.
    Up to ``_EXACT_EVENTS`` events the Poisson tails are solved for exactly; past it the
    chi-square quantiles by Wilson-Hilferty (then within 0.01 %)."""
    if seconds <= 0 or events < 0:
        return None, None
    tail = (1 - confidence) / 2
    if events <= _EXACT_EVENTS:
        top = events + 10 * math.sqrt(events + 1) + 10
        hi = _solve(lambda mean: _poisson_cdf(events, mean), tail, top)
        lo = 0.0 if events == 0 else _solve(lambda m: _poisson_cdf(events - 1, m), 1 - tail, top)
    else:
        lo = _chi2_ppf(tail, 2 * events) / 2
        hi = _chi2_ppf(1 - tail, 2 * events + 2) / 2
    return lo / seconds, hi / seconds


def wilson_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> Interval:
    """Wilson's score interval of a share ``successes / trials`` (0-1)."""
    if trials <= 0:
        return None, None
    z = _z(confidence)
    share = successes / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    spread = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    spread /= denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)


def relative_half_width(value: float | None, interval: Interval) -> float | None:
    """The larger distance from ``value`` to a bound, over ``value`` (inf for a missing bound;
    None without a value or at 0)."""
    if value is None or value == 0:
        return None
    lo, hi = interval
    if lo is None or hi is None:
        return math.inf
    return max(value - lo, hi - value) / abs(value)


def is_thin(value: float | None, interval: Interval) -> bool:
    """Wider than ±10 % of the figure (or a bound unknown)."""
    width = relative_half_width(value, interval)
    return width is not None and width > THIN


def samples_for(
    n: int, value: float | None, interval: Interval, q: float | None = None, target: float = PRECISE
) -> int | None:
    """About how many samples would make the interval ±``target`` of the figure: the half-width
    shrinks as 1/sqrt(n); with an upper bound unknown, at least the samples a quantile ``q``
    needs to have one at all."""
    if n <= 0 or value is None or value == 0:
        return None
    lo, hi = interval
    needed = n
    if lo is not None:
        needed = max(needed, math.ceil(n * ((value - lo) / abs(value) / target) ** 2))
    if hi is not None:
        needed = max(needed, math.ceil(n * ((hi - value) / abs(value) / target) ** 2))
    elif q is not None and 0 < q < 1:
        tail = (1 - CONFIDENCE) / 2
        needed = max(needed, 2 * math.ceil(math.log(tail) / math.log(q)))
    return needed
