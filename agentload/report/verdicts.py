"""The rules that give each compared metric its status (pure functions over plain data).

A metric with a tolerance *breaches* it when NEW's point estimate is worse than BASE's by more
than the tolerance. A breach is then

- a **regression** when a test at significance ``alpha`` confirms that NEW is worse: for a
  latency percentile, the rank test (Mann-Whitney over the histograms: the whole distribution
  moved, and its Hodges-Lehmann shift is itself past the tolerance) or the tail test (more of
  NEW's requests above the two runs' pooled percentile), each at ``alpha / 2``; for a rate,
  Fisher's exact test; for throughput, the exact test of two request counts over their windows;
- **inconclusive** when no test confirms it but one leans that way (``p < LEANS``, split among
  the tests as ``alpha`` is): the samples cannot tell, and the status carries how many requests
  per run would settle it (the test's sample size at the observed effect, 80 % power);
- **within noise** when no test sees it at all (``p >= LEANS``): chance explains the breach.

Runs recorded before the exact histograms have no test for their percentiles: ``judge`` falls
back to the noise bands (a breach outside the band is a regression, inside it inconclusive).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from agentload.report.comparison import INCONCLUSIVE, REGRESSION, WITHIN_NOISE, Delta
from agentload.report.significance import (
    POWER,
    RankTest,
    proportion_sample_size,
    rank_sample_size,
    two_proportions,
)

LEANS = 0.05
_NORMAL = NormalDist()


def judge(
    delta: Delta, limit: float | None, relative: bool, fail_within_noise: bool = False
) -> Delta:
    """Noise-band rule: regression when worse by more than ``limit`` (percent if ``relative``,
    else in the metric's own unit) and by more than the noise (unless ``fail_within_noise``),
    inconclusive when worse past the limit but within the noise; else same / within noise /
    better / worse."""
    change = delta.change
    if change is None:
        delta.status = "n/a"
        return delta
    if _breach(delta, limit, relative):
        noisy = delta.within_noise and not fail_within_noise
        delta.status = INCONCLUSIVE if noisy else REGRESSION
    else:
        _label(delta)
    return delta


def _worse(delta: Delta, relative: bool) -> float | None:
    sign = -1.0 if delta.higher_is_better else 1.0
    if relative:
        pct = delta.change_pct
        return sign * pct if pct is not None else None
    change = delta.change
    return sign * change if change is not None else None


def _breach(delta: Delta, limit: float | None, relative: bool) -> bool:
    measure = _worse(delta, relative)
    return limit is not None and measure is not None and measure > limit


def _label(delta: Delta) -> None:
    """same / within noise / better / worse, for a delta without a breach."""
    change = delta.change
    if change is None:
        delta.status = "n/a"
    elif change == 0:
        delta.status = "same"
    elif delta.within_noise:
        delta.status = WITHIN_NOISE
    else:
        sign = -1.0 if delta.higher_is_better else 1.0
        delta.status = "worse" if sign * change > 0 else "better"


@dataclass(frozen=True)
class Evidence:
    """What the tests say about one breach: each test's p-value (None: not applicable) and the
    requests per run it would need at the observed effect (None: it sees no effect)."""

    p_values: tuple[float | None, ...]
    needed: tuple[int | None, ...]


def decide(
    delta: Delta,
    breach: bool,
    evidence: Evidence,
    alpha: float,
    fail_within_noise: bool = False,
) -> Delta:
    """Set ``delta.status`` (and ``needed_n``) from a breach and the tests' evidence; ``alpha``
    and ``LEANS`` are split evenly among the tests (Bonferroni), so that a row's false alarms
    stay under them."""
    if delta.change is None:
        delta.status = "n/a"
        return delta
    if not breach:
        _label_tested(delta, evidence, alpha)
        return delta
    tests = max(1, len(evidence.p_values))
    found = [p for p in evidence.p_values if p is not None]
    if any(p < alpha / tests for p in found):
        delta.status = REGRESSION
    elif fail_within_noise:
        delta.status = REGRESSION
    elif any(p < LEANS / tests for p in found):
        delta.status = INCONCLUSIVE
        sizes = [n for n in evidence.needed if n is not None]
        delta.needed_n = min(sizes) if sizes else None
    else:
        delta.status = WITHIN_NOISE
    return delta


def _label_tested(delta: Delta, evidence: Evidence, alpha: float) -> None:
    """Without a breach: same, better or worse when a test (or the noise band) says the change
    is real, else within noise."""
    change = delta.change
    found = [p for p in evidence.p_values if p is not None]
    if change == 0:
        delta.status = "same"
    elif found:
        sign = -1.0 if delta.higher_is_better else 1.0
        worse = change is not None and sign * change > 0
        if worse and min(found) < alpha:
            delta.status = "worse"
        elif not worse or delta.within_noise:
            _label(delta)
        else:
            delta.status = WITHIN_NOISE
    else:
        _label(delta)


def rank_evidence(
    test: RankTest, base_median: float | None, limit: float, alpha: float
) -> tuple[float | None, int | None]:
    """The rank test's say on a latency breach: its p-value when its shift (relative to BASE's
    median) is past ``limit`` %, else None (a significant but small shift confirms nothing);
    and the sample size that would show the observed shift."""
    if not base_median or 100.0 * test.shift_ms / base_median <= limit:
        return None, None
    return test.p_value, rank_sample_size(test.common_language, alpha)


def proportion_evidence(
    k_base: int, n_base: int, k_new: int, n_new: int, alpha: float
) -> tuple[float | None, int | None]:
    """Fisher's p-value that NEW's share is higher, and the trials per run to show it."""
    test = two_proportions(k_base, n_base, k_new, n_new)
    if test is None:
        return None, None
    return test.p_value, proportion_sample_size(test.base_share, test.new_share, alpha)


def throughput_evidence(
    base_requests: int, base_s: float, new_requests: int, new_s: float, alpha: float
) -> tuple[float | None, int | None]:
    """Is NEW's request rate lower? Given both runs' requests, the chance that BASE holds as
    many or more of them as it does when the rates are equal (an exact binomial test on the
    split of the counts by the windows' lengths); and the requests per run that would show the
    observed ratio (normal approximation of two Poisson counts)."""
    if base_s <= 0 or new_s <= 0 or base_requests + new_requests == 0:
        return None, None
    total = base_requests + new_requests
    share = base_s / (base_s + new_s)
    p = _binomial_upper(base_requests, total, share)
    ratio = (new_requests / new_s) / (base_requests / base_s) if base_requests else 1.0
    if ratio >= 1.0:
        return p, None
    z = _z_sum(alpha)
    return p, math.ceil(z * z * (1 + ratio) / (1 - ratio) ** 2)


def _z_sum(alpha: float) -> float:
    return _NORMAL.inv_cdf(1 - alpha) + _NORMAL.inv_cdf(POWER)


def _binomial_upper(k: int, n: int, share: float) -> float:
    """P(X >= k) for X ~ Binomial(n, share)."""
    if k <= 0:
        return 1.0
    if share <= 0.0:
        return 0.0
    if share >= 1.0:
        return 1.0
    log_p, log_q = math.log(share), math.log1p(-share)
    terms = (
        math.lgamma(n + 1)
        - math.lgamma(i + 1)
        - math.lgamma(n - i + 1)
        + i * log_p
        + (n - i) * log_q
        for i in range(k, n + 1)
    )
    return min(1.0, sum(math.exp(t) for t in terms))


__all__ = [
    "LEANS",
    "Evidence",
    "decide",
    "judge",
    "proportion_evidence",
    "rank_evidence",
    "throughput_evidence",
]
