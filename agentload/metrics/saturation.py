"""Over-saturation: whether the target of an open-model run still keeps up with its arrivals,
decided while the run goes, from one sample a second (pure).

A target keeps up with an arrival rate when the calls in flight (sent less finished) hold steady,
and so does their latency. When it does not, a queue grows: each second brings ``λ`` calls and
it finishes only ``μ < λ``, so the calls in flight grow by ``λ - μ`` a second, and each call waits
longer than the one sent before it: its latency grows by ``λ / μ - 1`` seconds per second of send
time. Both are straight lines over time, whatever the target: :class:`SaturationWatch` fits one
to each and asks whether the slope is surely above zero, and large enough to matter.

The rule (:class:`SaturationRule`, checked on every sample, :meth:`SaturationWatch.update`):

1. **Grace.** The samples of the first ``max(grace_s, grace_latencies x the lowest median E2E
   seen so far)`` seconds are left out: while the pool ramps up the calls in flight climb from 0
   to their level (``λ`` times the latency), and the first calls to finish are the short ones.
2. **Window.** The samples after the grace, the last ``window_s`` seconds of them; at least
   ``min_points`` (6: below that no trend is significant at 95 % with this test).
3. **Trend.** Each series' Theil-Sen slope (the median of the slopes between every two points)
   with its distribution-free 95 % interval (Sen 1968: the ranks of the pairwise slopes that
   bound it, from the variance of Kendall's S; :func:`trend`). Rank-based: one slow call, or a
   second with few finishes, moves it little.
4. **Over-saturated** when the calls in flight grow (their slope's interval lies above 0) by at
   least ``min_excess`` (10 %) of the arrival rate, over the window and, once it has twice
   ``min_points``, over its latest half too (the ramp-up of long calls of very unequal lengths
   slows down and ends; a queue past capacity grows on), **and** the latency grows with the
   send time (the interval of the slope of each second's median E2E, or TTFT for streamed
   calls, against the send time of those calls, sent in the window, lies above 0) by at least
   ``min_excess`` seconds per second; on ``confirm`` checks in a row.

Both signals are one phenomenon seen twice (Little's law: at a fixed arrival rate, more calls in
flight means longer latency), so asking for both guards against a fluctuation of either; the
effect floor (a rate at least about 10 % above what the target completes), the grace and the
confirmation guard against noise a trend test alone would take for a trend: the points of a
stationary queue are correlated over about a latency, which the interval does not know.
GuideLLM's over-saturation stop fits the same two series (in flight, TTFT) with a least-squares
slope and accepts a margin of error up to twice the slope, an interval that may hold zero.
The evidence (:meth:`SaturationWatch.update`'s dict, summary.json's ``over_saturated``) gives
each slope with its interval, what was fitted, when, and the rate the target completed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist, median
from typing import Any


@dataclass(frozen=True)
class SaturationRule:
    """The rule's parameters (see the module docstring)."""

    grace_s: float = 1.0
    grace_latencies: float = 2.0
    window_s: float = 60.0
    min_points: int = 6
    min_excess: float = 0.1
    confidence: float = 0.95
    confirm: int = 2


@dataclass(frozen=True)
class Sample:
    """One timeline line of the run: ``t`` seconds since it started, the calls ``sent`` and
    ``finished`` so far, and the median E2E and TTFT (ms) of the successful calls that finished
    since the previous line (None: none did, or no stream)."""

    t: float
    sent: int
    finished: int
    e2e_ms: float | None = None
    ttft_ms: float | None = None


@dataclass(frozen=True)
class Trend:
    """A Theil-Sen line: ``slope`` with its interval ``[lo, hi]`` (a bound infinite when too
    few points bound it) and ``intercept``, over ``points`` points."""

    slope: float
    lo: float
    hi: float
    intercept: float
    points: int

    def at(self, x: float) -> float:
        return self.intercept + self.slope * x


def trend(xs: Sequence[float], ys: Sequence[float], confidence: float = 0.95) -> Trend | None:
    """The Theil-Sen slope of ``ys`` on ``xs`` with its distribution-free interval (Sen 1968,
    Gilbert 1987 §16.5): of the ``N`` pairwise slopes sorted, the bounds are those of ranks
    ``(N - C) / 2`` and ``(N + C) / 2 + 1``, ``C = z * sqrt(n (n - 1) (2n + 5) / 18)``, rounded
    outwards (ties ignored: a wider interval). None with under 3 points."""
    n = len(xs)
    if n < 3 or len(ys) != n:
        return None
    slopes = sorted(
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i in range(n)
        for j in range(i + 1, n)
        if xs[j] != xs[i]
    )
    if not slopes:
        return None
    pairs = len(slopes)
    slope = median(slopes)
    spread = NormalDist().inv_cdf(0.5 + confidence / 2) * math.sqrt(n * (n - 1) * (2 * n + 5) / 18)
    lower = math.floor((pairs - spread) / 2)  # 1-based ranks
    upper = math.ceil((pairs + spread) / 2) + 1
    lo = slopes[lower - 1] if lower >= 1 else -math.inf
    hi = slopes[upper - 1] if upper <= pairs else math.inf
    intercept = median(y - slope * x for x, y in zip(xs, ys, strict=True))
    return Trend(slope=slope, lo=lo, hi=hi, intercept=intercept, points=n)


@dataclass
class SaturationWatch:
    """The rule over a run's samples, one at a time (see the module docstring)."""

    rule: SaturationRule = field(default_factory=SaturationRule)
    samples: list[Sample] = field(default_factory=list)
    lowest_e2e_ms: float | None = None
    in_a_row: int = 0

    def update(self, sample: Sample) -> dict[str, Any] | None:
        """Add ``sample``; the evidence once the target is over-saturated, else None."""
        self.samples.append(sample)
        if sample.e2e_ms is not None:
            low = self.lowest_e2e_ms
            self.lowest_e2e_ms = sample.e2e_ms if low is None else min(low, sample.e2e_ms)
        evidence = self.check()
        self.in_a_row = self.in_a_row + 1 if evidence is not None else 0
        return evidence if self.in_a_row >= self.rule.confirm else None

    def grace_s(self) -> float:
        lowest = (self.lowest_e2e_ms or 0.0) / 1000
        return max(self.rule.grace_s, self.rule.grace_latencies * lowest)

    def check(self) -> dict[str, Any] | None:
        """The evidence when the samples so far meet the rule (one check), else None."""
        rule, now = self.rule, self.samples[-1].t
        start = max(self.grace_s(), now - rule.window_s)
        previous = [0.0, *(s.t for s in self.samples)]
        window = [(s, prev) for s, prev in zip(self.samples, previous, strict=False) if s.t > start]
        if len(window) < rule.min_points:
            return None
        first, last = window[0][0], window[-1][0]
        span = last.t - first.t
        arrivals = (last.sent - first.sent) / span if span > 0 else 0.0
        flight = self._growing([s for s, _ in window], arrivals)
        if flight is None:
            return None
        if len(window) >= 2 * rule.min_points:  # a ramp slows down, a queue past capacity not
            recent = [s for s, _ in window[len(window) // 2 :]]
            span = max(recent[-1].t - recent[0].t, 1e-9)
            if self._growing(recent, (recent[-1].sent - recent[0].sent) / span) is None:
                return None
        latency = {
            name: _latency_trend(window, name, rule) for name in ("e2e_ms", "ttft_ms")
        }  # fmt: skip
        growing = [
            t for t in latency.values() if t is not None and t.lo > 0 and t.slope >= rule.min_excess
        ]
        if not growing:
            return None
        return {
            "detected_at_s": round(now, 3),
            "window_s": [round(first.t, 3), round(last.t, 3)],
            "grace_s": round(self.grace_s(), 3),
            "confidence": rule.confidence,
            "in_flight": {
                "from": round(flight.at(first.t), 1),
                "to": round(flight.at(last.t), 1),
                "slope_per_s": round(flight.slope, 3),
                "slope_ci": [_round(flight.lo), _round(flight.hi)],
                "points": flight.points,
            },
            "arrival_rate": round(arrivals, 3),
            "completion_rate": round(max(0.0, arrivals - flight.slope), 3),
            **{name: _latency_evidence(t) for name, t in latency.items()},
        }

    def _growing(self, samples: Sequence[Sample], arrivals: float) -> Trend | None:
        """The calls in flight's trend over ``samples`` when they grow (its interval above 0)
        by at least ``min_excess`` of the ``arrivals`` rate, else None."""
        rule = self.rule
        counts = [float(s.sent - s.finished) for s in samples]
        fit = trend([s.t for s in samples], counts, rule.confidence)
        if fit is None or fit.lo <= 0 or fit.slope < rule.min_excess * arrivals:
            return None
        return fit


def _latency_trend(
    window: Sequence[tuple[Sample, float]], name: str, rule: SaturationRule
) -> Trend | None:
    """Each second's median latency (ms) against the send time of those calls (s): the middle
    of the second they finished in, less that median, when that lies in the window (calls sent
    before it finish late in it only if slow: they would bias it up); the slope in seconds per
    second."""
    xs, ys = [], []
    start = window[0][1]
    for sample, previous in window:
        value = getattr(sample, name)
        sent = (sample.t + previous) / 2 - (value or 0.0) / 1000
        if value is not None and sent >= start:
            xs.append(sent)
            ys.append(value / 1000)
    if len(xs) < rule.min_points:
        return None
    return trend(xs, ys, rule.confidence)


def _latency_evidence(fit: Trend | None) -> dict[str, Any] | None:
    if fit is None:
        return None
    return {
        "slope_ms_per_s": round(fit.slope * 1000, 1),
        "slope_ci": [_round(fit.lo * 1000, 1), _round(fit.hi * 1000, 1)],
        "points": fit.points,
    }


def _round(value: float, digits: int = 3) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def saturation_finding(evidence: Mapping[str, Any]) -> str:
    """The evidence in one sentence, for the console and the report."""
    flight = evidence.get("in_flight") or {}
    lo, hi = flight.get("slope_ci") or (None, None)
    parts = [
        f"over-saturated {evidence.get('detected_at_s', 0):.0f}s into the run: calls in flight "
        f"grew {flight.get('slope_per_s', 0):.2f}/s (95 % interval {_shown(lo)} to {_shown(hi)}, "
        f"from {flight.get('from', 0):.0f} to {flight.get('to', 0):.0f}) at "
        f"{evidence.get('arrival_rate', 0):.2f} arrivals/s"
    ]
    for name, label in (("e2e_ms", "E2E"), ("ttft_ms", "TTFT")):
        fit = evidence.get(name)
        if isinstance(fit, Mapping):
            low, high = fit.get("slope_ci") or (None, None)
            parts.append(
                f"{label} {fit.get('slope_ms_per_s', 0):+.0f} ms per second of send time (95 % "
                f"interval {_shown(low, 0)} to {_shown(high, 0)})"
            )
    completed = evidence.get("completion_rate")
    tail = f"; the target completed about {completed:.2f} calls/s" if completed else ""
    return ", ".join(parts) + tail


def _shown(value: Any, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "unbounded"
