"""How far apart two runs' figures may be by chance alone (pure functions).

Each band is about two standard errors of the difference BASE − NEW, from what the runs show:

- a percentile: the larger of (a) its distribution-free confidence interval from the run's own
  successful requests (the order statistics at ranks ``n·q ± 1.96·√(n·q·(1−q))`` of the merged
  exact histogram)
  and (b) the spread of the percentile over equal slices of the run (drift within a run);
- a rate (errors, agent success): the binomial standard error ``√(p(1−p)/n)``;
- RPS: the spread of per-slice request rates.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from agentload.metrics.latency import Histogram, count, values_at_ranks_ms
from agentload.metrics.stats import latency_over
from agentload.report.series import window_quantiles, window_rps

Z = 1.96


def mean_se(samples: Sequence[float]) -> float | None:
    """Standard error of the mean of per-slice samples (None below 3 samples)."""
    clean = [s for s in samples if not math.isnan(s)]
    if len(clean) < 3:
        return None
    return statistics.stdev(clean) / math.sqrt(len(clean))


def band(se_base: float | None, se_new: float | None) -> float | None:
    """Two standard errors of the difference of two independent estimates."""
    if se_base is None or se_new is None:
        return None
    return 2.0 * math.hypot(se_base, se_new)


def binomial_se(rate: float | None, n: float | None) -> float | None:
    """Standard error of a proportion ``rate`` measured over ``n`` trials."""
    if rate is None or not n:
        return None
    return math.sqrt(max(rate * (1 - rate), 0.0) / n)


def percentile_halfwidth(hist: Histogram | None, q: float) -> float | None:
    """Half the width of the ~95 % confidence interval of the ``q`` percentile of ``hist``."""
    n = count(hist)
    if hist is None or n < 2:
        return None
    spread = Z * math.sqrt(n * q * (1 - q))
    low = max(1, math.floor(n * q - spread))
    high = min(n, math.ceil(n * q + spread))
    at_low, at_high = values_at_ranks_ms(hist, [low, high])
    assert at_low is not None and at_high is not None
    return (at_high - at_low) / 2.0


def _entry_hist(timeline: Sequence[Mapping[str, Any]], entry: str) -> Histogram | None:
    return latency_over(timeline, entry).ok


def percentile_band(
    base: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]], entry: str, q: float
) -> float | None:
    """The noise band of the difference of ``entry``'s ``q`` percentile between two timelines."""
    hw_base = percentile_halfwidth(_entry_hist(base, entry), q)
    hw_new = percentile_halfwidth(_entry_hist(new, entry), q)
    sampling = math.hypot(hw_base, hw_new) if hw_base is not None and hw_new is not None else None
    drift = band(
        mean_se(window_quantiles(base, entry, q)), mean_se(window_quantiles(new, entry, q))
    )
    found = [b for b in (sampling, drift) if b is not None]
    return max(found) if found else None


def rps_band(
    base: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]], entry: str | None = None
) -> float | None:
    """The noise band of the difference of request rates (of ``entry``, else all HTTP)."""
    return band(mean_se(window_rps(base, entry)), mean_se(window_rps(new, entry)))


def rate_band(
    base_rate: float | None, base_n: float | None, new_rate: float | None, new_n: float | None
) -> float | None:
    """The noise band of the difference of two proportions."""
    return band(binomial_se(base_rate, base_n), binomial_se(new_rate, new_n))
