"""Agent outcomes per scenario, aggregated across workers (the contract in architecture.md).

``record(environment, scenario, outcome)`` counts one finished agent task
(scenario: any name, as the API description or the user's locustfile calls it; outcome
``success|invalid|error|timeout|rejected``);
``totals(environment)`` gives the cumulative counts of the whole test on the master or local
runner (every call; ``send_window.in_window(totals, OUTSIDE_PREFIX)``: those of the calls
sent inside the run's window); ``success_rate(counts)`` the share of successes (None without
any outcome).
"""

from __future__ import annotations

from typing import Any

from agentload.apis.verdicts import OUTCOMES
from agentload.locust import send_window
from agentload.locust.counters import Counts, DistributedCounters

_COUNTERS = DistributedCounters("agentload_outcomes")
OUTSIDE_PREFIX = "outcomes:"  # the groups of send_window's counts of the calls outside


def record(environment: Any, scenario: str, outcome: str) -> None:
    """Count one agent outcome; an empty scenario or an unknown outcome is a programming error."""
    if not isinstance(scenario, str) or not scenario:
        raise ValueError(f"scenario {scenario!r}: expected a non-empty name")
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome {outcome!r}: expected one of {', '.join(OUTCOMES)}")
    _COUNTERS.add(scenario, outcome)
    if send_window.outside():  # made outside the run's window: left out of final.json's counts
        send_window.count_outside(OUTSIDE_PREFIX + scenario, outcome)


def totals(environment: Any) -> Counts:
    """Cumulative outcome counts ``{scenario: {outcome: n}}`` (master: summed over workers)."""
    return _COUNTERS.totals()


def success_rate(counts: Counts, scenario: str | None = None) -> float | None:
    """Share of ``success`` for one scenario, or over all when ``scenario`` is None."""
    groups = [counts.get(scenario, {})] if scenario else list(counts.values())
    done = sum(sum(group.values()) for group in groups)
    return sum(group.get("success", 0) for group in groups) / done if done else None
