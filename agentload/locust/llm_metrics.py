"""LLM metrics of streamed answers, per scenario, added up across workers.

``record(scenario, metrics)`` adds one streamed request's TTFT, inter-token gaps, TPOT, E2E and
token counts (:class:`agentload.metrics.llm.StreamMetrics`) as plain nested counts, which a
worker sends on each report and the master adds up
(:class:`agentload.locust.counters.DistributedCounters`); ``totals()`` gives them (final.json's
``llm``), :func:`agentload.metrics.llm.llm_section` reads them.
With SLOs configured (``--agentload-slo``), ``count_goodput`` counts every call of a scenario
and those meeting all SLOs (:mod:`agentload.metrics.slo`) in the same counts.
A call sent outside the run's window (warm-up, cool-down: :mod:`agentload.locust.send_window`)
is not counted.
"""

from __future__ import annotations

from collections import Counter

from agentload.locust import send_window
from agentload.locust.counters import Counts, DistributedCounters
from agentload.metrics.llm import TOKENS, StreamMetrics, bucket_counts, token_counts
from agentload.metrics.slo import GOODPUT, meets

_COUNTERS = DistributedCounters("agentload_llm")
#: The run's SLOs in ms (``--agentload-slo``), set at init; empty: goodput is not counted.
SLOS: dict[str, float] = {}


def configure(slos: dict[str, float]) -> None:
    """Count goodput against ``slos`` (``{metric: limit_ms}``) from now on."""
    SLOS.clear()
    SLOS.update(slos)


def count_goodput(
    scenario: str, ok: bool, e2e_ms: float, ttft_ms: float | None, tpot_ms: float | None = None
) -> None:
    """Count one call of ``scenario`` and whether it met every SLO (nothing without SLOs)."""
    if not SLOS or send_window.outside():
        return
    group = f"{GOODPUT} {scenario}"
    _COUNTERS.add(group, "requests")
    if meets(SLOS, ok, e2e_ms, ttft_ms, tpot_ms):
        _COUNTERS.add(group, "met")


_recording = True


def stop_recording() -> None:
    """Stop recording streams (benchmarks measure what the per-chunk bookkeeping costs)."""
    global _recording
    _recording = False


def record(scenario: str, metrics: StreamMetrics) -> None:
    """Count one streamed request of ``scenario``."""
    if not _recording or send_window.outside():
        return
    for kind, indexes in bucket_counts(metrics).items():
        group = f"{kind} {scenario}"
        for index, n in Counter(indexes).items():  # gaps mostly share a few buckets
            _COUNTERS.add(group, str(index), n)
    for name, n in token_counts(metrics).items():
        _COUNTERS.add(f"{TOKENS} {scenario}", name, n)


def totals() -> Counts:
    """The cumulative counts of the test (on the master: of every worker)."""
    return _COUNTERS.totals()
