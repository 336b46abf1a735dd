"""The open model's arrivals: ``summary["arrivals"]`` = ``{scheduled, sent, late, dropped}``.

``dropped_rate`` is dropped / scheduled; a closed-loop run has no arrivals and fails the gate
saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentload.gates.client import Observed
from agentload.gates.grammar import Gate, finite


def observe_arrivals(gate: Gate, summary: Mapping[str, Any]) -> Observed:
    """``dropped_rate``: the share of scheduled arrivals that were dropped."""
    arrivals = summary.get("arrivals")
    if not isinstance(arrivals, Mapping):
        return None, "no arrivals: the run was closed-loop"
    scheduled, dropped = finite(arrivals.get("scheduled")), finite(arrivals.get("dropped"))
    if not scheduled or dropped is None:
        return None, "no arrivals were scheduled in this run"
    return dropped / scheduled, ""
