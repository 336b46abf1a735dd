"""LLM metrics of streamed answers, per scenario, added up across workers.

``record(scenario, metrics)`` adds one streamed request's TTFT, inter-token gaps, TPOT, E2E and
token counts (:class:`agentload.llm.StreamMetrics`) as plain nested counts, which a worker sends
on each report and the master adds up (:class:`agentload.locust.counters.DistributedCounters`);
``totals()`` gives them (final.json's ``llm``), :func:`agentload.llm.llm_section` reads them.
"""

from __future__ import annotations

from agentload.llm import TOKENS, StreamMetrics, bucket_counts, token_counts
from agentload.locust.counters import Counts, DistributedCounters

_COUNTERS = DistributedCounters("agentload_llm")


def record(scenario: str, metrics: StreamMetrics) -> None:
    """Count one streamed request of ``scenario``."""
    for kind, indexes in bucket_counts(metrics).items():
        group = f"{kind} {scenario}"
        for index in indexes:
            _COUNTERS.add(group, str(index))
    for name, n in token_counts(metrics).items():
        _COUNTERS.add(f"{TOKENS} {scenario}", name, n)


def totals() -> Counts:
    """The cumulative counts of the test (on the master: of every worker)."""
    return _COUNTERS.totals()
