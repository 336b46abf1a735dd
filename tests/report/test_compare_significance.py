"""The comparison's tests over binned data agree with brute force on raw samples (scipy is not
installed: U, its tie-corrected variance, the Hodges-Lehmann shift and Fisher's p are recomputed
from their definitions)."""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter

import pytest

from agentload.metrics.latency import new, record
from agentload.report.significance import (
    bins_ms,
    fisher_greater,
    mann_whitney,
    proportion_sample_size,
    rank_sample_size,
)


def _bins(values: list[float]) -> list[tuple[float, int]]:
    return sorted(Counter(values).items())


def _midranks(values: list[float]) -> list[float]:
    ordered = sorted(values)
    first = {v: ordered.index(v) + 1 for v in set(values)}
    count = Counter(values)
    return [first[v] + (count[v] - 1) / 2 for v in values]


def _brute_force(base: list[float], new_: list[float]) -> tuple[float, float, float]:
    """U (pairs NEW > BASE, ties half), the one-sided p with the variance of the rank sum under
    permutation (midranks: the tie correction by its definition), and the HL shift."""
    u = sum((y > x) + 0.5 * (y == x) for x in base for y in new_)
    pooled = base + new_
    n1, n2, total = len(base), len(new_), len(pooled)
    ranks = _midranks(pooled)
    mean_rank = (total + 1) / 2
    variance = n1 * n2 / (total * (total - 1)) * sum((r - mean_rank) ** 2 for r in ranks)
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(variance)
    p = 0.5 * math.erfc(z / math.sqrt(2))
    return u, p, statistics.median(y - x for x in base for y in new_)


@pytest.mark.parametrize("seed", range(30))
def test_mann_whitney_over_bins_matches_raw_samples_with_ties(seed: int) -> None:
    """Small samples on a coarse grid (many ties): U, p and the shift equal brute force."""
    rng = random.Random(seed)
    base = [float(rng.randint(1, 8)) for _ in range(rng.randint(3, 15))]
    new_ = [float(rng.randint(2, 9)) for _ in range(rng.randint(3, 15))]
    test = mann_whitney(_bins(base), _bins(new_))
    assert test is not None
    u, p, shift = _brute_force(base, new_)
    assert test.u == u
    assert test.p_value == pytest.approx(p, rel=1e-9)
    assert test.shift_ms == pytest.approx(shift, abs=1e-9)
    assert test.common_language == pytest.approx(u / (len(base) * len(new_)))


def test_rank_test_over_hdr_histograms_matches_the_raw_latencies() -> None:
    """200 lognormal latencies per run: the test over HdrHistogram buckets (0.1 % wide) gives
    the p-value of the raw samples within 2 % and the shift within 0.5 %."""
    rng = random.Random(7)
    base = [rng.lognormvariate(math.log(300), 0.5) for _ in range(200)]
    new_ = [1.15 * rng.lognormvariate(math.log(300), 0.5) for _ in range(200)]
    hists = new(), new()
    for hist, values in zip(hists, (base, new_), strict=True):
        for value in values:
            record(hist, value)
    test = mann_whitney(bins_ms(hists[0]), bins_ms(hists[1]))
    assert test is not None
    _, p, shift = _brute_force(base, new_)
    assert test.p_value == pytest.approx(p, rel=0.02)
    assert test.shift_ms == pytest.approx(shift, rel=0.005)


def test_fisher_matches_the_hypergeometric_tail_by_enumeration() -> None:
    """Every table of 12 vs 9 trials with up to 6 events: the one-sided p is the sum of the
    probabilities of the tables with as many or more events in NEW."""
    n_base, n_new = 12, 9
    for events in range(7):
        weights = {
            k: math.comb(n_new, k) * math.comb(n_base, events - k)
            for k in range(max(0, events - n_base), min(events, n_new) + 1)
        }
        total = sum(weights.values())
        for k_new in weights:
            expected = sum(w for k, w in weights.items() if k >= k_new) / total
            got = fisher_greater(events - k_new, n_base, k_new, n_new)
            assert got == pytest.approx(expected, rel=1e-9)


def test_the_sample_sizes_give_about_80_percent_power() -> None:
    """At the n the formulas name, simulated runs find the effect about 80 % of the time."""
    rng = random.Random(3)
    shift = 0.3  # normal data shifted by 0.3 sd: P(slower) = Φ(0.3 / √2)
    cl = statistics.NormalDist().cdf(shift / math.sqrt(2))
    n = rank_sample_size(cl, 0.05)
    assert n is not None and 130 <= n <= 150
    found = 0
    for _ in range(300):
        base = [round(rng.gauss(0, 1), 2) for _ in range(n)]
        new_ = [round(rng.gauss(shift, 1), 2) for _ in range(n)]
        test = mann_whitney(_bins(base), _bins(new_))
        found += test is not None and test.p_value < 0.05
    assert 0.72 <= found / 300 <= 0.88, found
    n_prop = proportion_sample_size(0.05, 0.15, 0.05)
    hits = 0
    assert n_prop is not None
    for _ in range(300):
        k_base = sum(rng.random() < 0.05 for _ in range(n_prop))
        k_new = sum(rng.random() < 0.15 for _ in range(n_prop))
        hits += fisher_greater(k_base, n_prop, k_new, n_prop) < 0.05
    assert 0.65 <= hits / 300 <= 0.9, (n_prop, hits)  # Fisher is exact, a little conservative
    assert rank_sample_size(0.5, 0.05) is None
    assert proportion_sample_size(0.1, 0.1, 0.05) is None
