"""Tests that tell a real change from chance, over binned data (pure functions, standard library).

- :func:`mann_whitney`: is NEW slower than BASE? The Mann-Whitney U test over two runs' latency
  histograms, each bucket a group of tied values (HdrHistogram's buckets are at most 0.1 % wide,
  so a tie is two latencies within 0.1 %). One-sided (NEW stochastically greater), normal
  approximation with the tie-corrected variance and a continuity correction: the same p-value as
  ``scipy.stats.mannwhitneyu(new, base, alternative="greater", method="asymptotic")``. Its effect
  sizes: the common-language effect ``P(NEW > BASE) + P(tie)/2`` (0.5: no shift) and the
  Hodges-Lehmann shift (the median of all NEW − BASE differences, in ms).
- :func:`two_proportions`: is a share (errors, requests above a percentile) higher in NEW? The
  two-proportion test in its exact form (Fisher's, one-sided), sound at the small counts of a
  tail (5 requests in 100 above a P95).
- :func:`rank_sample_size`, :func:`proportion_sample_size`: how many requests per run would show
  the observed effect with ``POWER`` at significance ``alpha`` (Noether's formula for
  Mann-Whitney; the classic formula for two proportions).
- :func:`bins_ms`: an HdrHistogram as sorted ``(value_ms, count)`` bins, each at its bucket's
  middle.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from statistics import NormalDist

from agentload.metrics.latency import Histogram

POWER = 0.8
Bins = Sequence[tuple[float, int]]
_NORMAL = NormalDist()


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def bins_ms(hist: Histogram | None) -> list[tuple[float, int]]:
    """The non-empty buckets of ``hist`` as ``(middle of the bucket in ms, count)``, ascending."""
    if hist is None or not hist.get_total_count():
        return []
    top = hist.get_counts_array_index(hist.get_max_value())
    out = []
    for index, n in enumerate(hist.counts[: top + 1]):
        if n:
            low = hist.get_value_from_index(index)
            middle = (low + hist.get_highest_equivalent_value(low) + 1) / 2.0
            out.append((middle / 1000.0, int(n)))
    return out


def _merged(base: Bins, new: Bins) -> list[tuple[float, int, int]]:
    """``(value, base count, new count)`` over the union of both runs' bins, ascending."""
    table: dict[float, list[int]] = {}
    for value, n in base:
        table.setdefault(value, [0, 0])[0] += n
    for value, n in new:
        table.setdefault(value, [0, 0])[1] += n
    return [(value, counts[0], counts[1]) for value, counts in sorted(table.items())]


@dataclass(frozen=True)
class RankTest:
    """Mann-Whitney U of NEW against BASE (one-sided: NEW slower)."""

    n_base: int
    n_new: int
    u: float  # pairs with NEW > BASE, ties counted half
    z: float
    p_value: float
    common_language: float  # u / (n_base · n_new)
    shift_ms: float  # Hodges-Lehmann: the median of the NEW − BASE differences

    @property
    def pairs(self) -> int:
        return self.n_base * self.n_new


def mann_whitney(base: Bins, new: Bins) -> RankTest | None:
    """The test over two binned samples; None when either is empty."""
    n1, n2 = sum(n for _, n in base), sum(n for _, n in new)
    if not n1 or not n2:
        return None
    total = n1 + n2
    u = 0.0
    below = 0  # BASE values in lower bins
    ties = 0.0  # sum of t^3 - t over the tie groups
    for _, b, c in _merged(base, new):
        u += c * (below + b / 2.0)
        below += b
        t = b + c
        ties += t * t * t - t
    mean = n1 * n2 / 2.0
    variance = n1 * n2 / 12.0 * ((total + 1) - ties / (total * (total - 1) if total > 1 else 1))
    if variance <= 0:  # every value tied: no evidence either way
        z, p = 0.0, 1.0
    else:
        z = (u - mean - 0.5) / math.sqrt(variance)
        p = normal_sf(z)
    return RankTest(n1, n2, u, z, p, u / (n1 * n2), hodges_lehmann(base, new))


def hodges_lehmann(base: Bins, new: Bins) -> float:
    """The median of the ``n_base · n_new`` differences NEW − BASE (bins weighted by their counts),
    found by bisection on the shift: each step counts the pairs below it in one merged pass."""
    base_values = [v for v, _ in base]
    cumulative = list(accumulate(n for _, n in base))
    pairs = cumulative[-1] * sum(n for _, n in new)

    def at_or_below(shift: float) -> int:
        """How many pairs have NEW − BASE <= shift (BASE >= NEW − shift)."""
        count = 0
        for value, n in new:
            below = bisect_left(base_values, value - shift)  # BASE bins < value - shift
            lower = cumulative[below - 1] if below else 0
            count += n * (cumulative[-1] - lower)
        return count

    def smallest_with(rank: int) -> float:
        low, high = new[0][0] - base[-1][0], new[-1][0] - base[0][0]
        for _ in range(60):
            middle = (low + high) / 2.0
            if at_or_below(middle) >= rank:
                high = middle
            else:
                low = middle
        return high

    half = (pairs + 1) // 2
    if pairs % 2:
        return smallest_with(half)
    return (smallest_with(half) + smallest_with(half + 1)) / 2.0


@dataclass(frozen=True)
class ProportionTest:
    """Is NEW's share higher than BASE's? (one-sided; ``p_value`` exact, Fisher's test)."""

    k_base: int
    n_base: int
    k_new: int
    n_new: int
    p_value: float

    @property
    def base_share(self) -> float:
        return self.k_base / self.n_base

    @property
    def new_share(self) -> float:
        return self.k_new / self.n_new


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_greater(k_base: int, n_base: int, k_new: int, n_new: int) -> float:
    """One-sided Fisher exact p-value: the chance, given the ``k_base + k_new`` events of both
    runs, that NEW holds ``k_new`` or more of them (the hypergeometric upper tail)."""
    events, total = k_base + k_new, n_base + n_new
    low, high = max(k_new, events - n_base), min(events, n_new)
    denominator = _log_comb(total, events)
    p = sum(
        math.exp(_log_comb(n_new, k) + _log_comb(n_base, events - k) - denominator)
        for k in range(low, high + 1)
    )
    return min(1.0, p)


def two_proportions(k_base: int, n_base: int, k_new: int, n_new: int) -> ProportionTest | None:
    """``k`` of ``n`` in each run; None when either run has no trials."""
    if n_base <= 0 or n_new <= 0:
        return None
    return ProportionTest(
        k_base, n_base, k_new, n_new, fisher_greater(k_base, n_base, k_new, n_new)
    )


def above_threshold(bins: Bins, threshold: float) -> int:
    """How many values of ``bins`` lie above ``threshold``."""
    return sum(n for value, n in bins if value > threshold)


def quantile_value(bins: Bins, q: float) -> float | None:
    """The value at nearest rank ``max(1, round(q·n))`` of the bins (None when empty)."""
    total = sum(n for _, n in bins)
    if not total:
        return None
    rank, seen = max(1, round(q * total)), 0
    for value, n in bins:
        seen += n
        if seen >= rank:
            return value
    return bins[-1][0]


def tail_test(base: Bins, new: Bins, q: float) -> ProportionTest | None:
    """Are more of NEW's requests above the two runs' pooled ``q`` percentile than BASE's? (A
    test of the percentile itself: under no change both runs put the same share above it.)"""
    threshold = quantile_value([(v, b + c) for v, b, c in _merged(base, new)], q)
    if threshold is None:
        return None
    n_base, n_new = sum(n for _, n in base), sum(n for _, n in new)
    return two_proportions(
        above_threshold(base, threshold), n_base, above_threshold(new, threshold), n_new
    )


def _z(alpha: float) -> float:
    return _NORMAL.inv_cdf(1.0 - alpha)


def rank_sample_size(common_language: float, alpha: float, power: float = POWER) -> int | None:
    """Requests per run for Mann-Whitney to find a shift of this common-language effect with
    ``power`` at one-sided ``alpha`` (Noether 1987, equal runs); None without an upward shift."""
    effect = common_language - 0.5
    if effect <= 0:
        return None
    return math.ceil((_z(alpha) + _z(1.0 - power)) ** 2 / (6.0 * effect * effect))


def proportion_sample_size(
    share_base: float, share_new: float, alpha: float, power: float = POWER
) -> int | None:
    """Trials per run for the one-sided two-proportion test to find ``share_base`` ->
    ``share_new`` with ``power`` at ``alpha``; None when NEW's share is not higher."""
    if share_new <= share_base:
        return None
    pooled = (share_base + share_new) / 2.0
    spread = _z(alpha) * math.sqrt(2.0 * pooled * (1 - pooled)) + _z(1.0 - power) * math.sqrt(
        share_base * (1 - share_base) + share_new * (1 - share_new)
    )
    return math.ceil((spread / (share_new - share_base)) ** 2)
