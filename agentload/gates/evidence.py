"""Gates that know how sure their figure is: pass, fail or inconclusive on its 95 % interval.

A gate ``<``, ``<=``, ``>`` or ``>=`` on a figure the summary gives an interval for (a
percentile of an entry, of a stream or of a server route with buckets; ``rps``;
``error_rate``, ``agent_success_rate``, ``goodput``: see :mod:`agentload.metrics.precision`)
**passes** when the whole interval is on the right side of the threshold, **fails** when the
whole interval is on the wrong side, and is **inconclusive** when the threshold lies inside it
(or on the side of a bound the samples cannot give: a P95 of 50 calls has no upper bound).
``samples_needed`` says about how many samples would decide an inconclusive gate if the figure
stayed where it is: for a share or a rate, the fewest at which its Wilson or Poisson interval
leaves the threshold out; for a percentile, the interval narrows as 1/sqrt(n), so the bound on
the threshold's side must come from ``|bound - value|`` to ``|threshold - value|``.

Every other gate (counts, ``max``, ``avg``, the stress search, ``dropped_rate``, token rates,
``max_rate_under_slo``, ``==``/``!=``, a summary written before the intervals) is decided on
its value alone, as before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentload.gates.grammar import EVERY, Gate, format_value
from agentload.gates.llm import is_stream_entry
from agentload.metrics.intervals import CONFIDENCE, Interval, poisson_interval, wilson_interval
from agentload.metrics.precision import summary_figures

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
INTERVAL_METRICS = ("p50", "p90", "p95", "p99", "rps", "error_rate", "agent_success_rate")
_SCENARIO_METRICS = ("agent_success_rate", "goodput")
_ORDERED = ("<", "<=", ">", ">=")
_MAX_SAMPLES = 10**9


@dataclass(frozen=True)
class Evidence:
    """A gate's figure's interval, the samples it stands on, for a percentile its q, and what
    kind of figure it is (``quantile``, ``rate`` or ``share``)."""

    ci: Interval
    samples: int
    q: float | None = None
    kind: str = "share"


def evidence(gate: Gate, summary: Mapping[str, Any]) -> Evidence | None:
    """The interval the gate is decided on, or None when its figure has none."""
    if gate.op not in _ORDERED or gate.entry == EVERY:
        return None
    if gate.metric not in INTERVAL_METRICS and gate.metric != "goodput":
        return None
    if gate.metric == "goodput" and gate.entry is None:
        return _overall_goodput(summary.get("goodput"))
    name = _figure_name(gate, summary)
    for figure in summary_figures(summary):
        if figure.name == name:
            if figure.ci == (None, None):
                return None
            kind = (
                "quantile" if figure.q is not None else "rate" if gate.metric == "rps" else "share"
            )
            return Evidence(figure.ci, figure.samples, figure.q, kind)
    return None


def decide(gate: Gate, observed: float, found: Evidence) -> tuple[str, int | None]:
    """``(status, samples_needed)``: pass, fail or inconclusive on the interval (see the module
    docstring); samples_needed only for inconclusive (None when no count would do)."""
    lo, hi = found.ci
    below = gate.op in ("<", "<=")
    good_side, bad_side = (hi, lo) if below else (lo, hi)
    if good_side is not None and gate.check(good_side):
        return PASS, None
    if bad_side is not None and not gate.check(bad_side):
        return FAIL, None
    return INCONCLUSIVE, _samples_needed(gate, observed, found)


def inconclusive_reason(gate: Gate, found: Evidence, needed: int | None) -> str:
    """``inconclusive: its 95 % interval [0%, 1.9%] holds the threshold 1%; about 380 samples
    (now 200) would decide it``."""
    shown = interval_text(gate.metric, found.ci)
    text = f"inconclusive: its {CONFIDENCE * 100:g} % interval {shown} holds the threshold"
    text += f" {format_value(gate.metric, gate.threshold)}"
    if needed is None:
        return text + f"; no number of samples decides it (now {found.samples:,})"
    return text + f"; about {needed:,} samples (now {found.samples:,}) would decide it"


def interval_text(metric: str, ci: Interval) -> str:
    """``[298ms, 330ms]``, a bound not known as ``?``."""
    lo, hi = (format_value(metric, b) if b is not None else "?" for b in ci)
    return f"[{lo}, {hi}]"


def _samples_needed(gate: Gate, observed: float, found: Evidence) -> int | None:
    lo, hi = found.ci
    n = max(found.samples, 1)
    pass_side = gate.check(observed)
    upper = (gate.op in ("<", "<=")) == pass_side  # the bound that must cross the threshold
    bound = hi if upper else lo
    margin = abs(gate.threshold - observed)
    if margin == 0:
        return None
    if found.kind != "quantile":
        return _searched(found.kind, observed, gate.threshold, n, upper)
    if bound is None:  # first the samples that give this bound at all, then some
        q = found.q if found.q is not None else 0.5
        tail = (1 - CONFIDENCE) / 2
        share = q if upper else 1 - q
        return max(2 * n, 2 * math.ceil(math.log(tail) / math.log(share)))
    return max(n + 1, math.ceil(n * (abs(bound - observed) / margin) ** 2))


def _searched(kind: str, value: float, threshold: float, n: int, upper: bool) -> int | None:
    """The fewest samples at which a share's (Wilson) or a rate's (Poisson) interval around the
    same value leaves the threshold out on the needed side (doubling, then bisection)."""
    if kind == "rate" and value <= 0:
        return None

    def decided(m: int) -> bool:
        if kind == "rate":
            lo, hi = poisson_interval(round(value * (m / value)), m / value)
        else:
            lo, hi = wilson_interval(round(value * m), m)
        bound = hi if upper else lo
        return bound is not None and (bound < threshold if upper else bound > threshold)

    low, high = n, max(n + 1, 2 * n)
    while not decided(high):
        low, high = high, high * 2
        if high > _MAX_SAMPLES:
            return None
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if decided(middle) else (middle, high)
    return high


def _figure_name(gate: Gate, summary: Mapping[str, Any]) -> str:
    """The name of the gate's figure in the summary: a path-only entry resolved to its
    ``METHOD /path`` entry as the client's gates resolve it."""
    entry = gate.entry
    if gate.server or entry is None or is_stream_entry(entry) or gate.metric in _SCENARIO_METRICS:
        return gate.name
    endpoints = summary.get("endpoints") or {}
    if entry not in endpoints:
        by_path = [name for name in endpoints if name.split(" ", 1)[-1] == entry]
        if len(by_path) == 1:
            entry = by_path[0]
    return f"{gate.metric}({entry})"


def _overall_goodput(goodput: Any) -> Evidence | None:
    """``goodput`` without an entry: Wilson's interval over every scenario's calls."""
    if not isinstance(goodput, Mapping):
        return None
    rows = [row for row in goodput.values() if isinstance(row, Mapping) and "share_ci" in row]
    requests = sum(int(row.get("requests") or 0) for row in rows)
    if not rows or not requests:
        return None
    met = sum(int(row.get("met") or 0) for row in rows)
    return Evidence(wilson_interval(met, requests), requests, None, "share")
