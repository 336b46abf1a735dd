"""Gates against the entries a run can have, checked before any load (pure).

``check_entries(gates, entries, scenarios)`` raises ConfigError, one line naming the gate, what
it names and what was expected, for a gate whose entry the run's plan does not have:

- ``p95(GET /nope)``, ``error_rate(...)``, ``rps(...)``: one of ``entries`` (``METHOD /path``
  templates, ``TTFT``/``TPOT``/``TTC <scenario>``), or a path that names one of them alone;
- ``agent_success_rate(X)``, ``goodput(X)``, ``output_tokens_per_s(X)``: a scenario;
- ``p95(ttft:X)`` (``itl:``, ``tpot:``, ``e2e:``): a scenario with streamed calls.

``*`` and ``server.`` gates (the server's own routes) are not checked here.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentload.errors import ConfigError
from agentload.gates.grammar import EVERY, Gate
from agentload.gates.llm import is_stream_entry

#: Metrics whose entry is a scenario's name rather than a Locust entry.
SCENARIO_METRICS = ("agent_success_rate", "goodput", "output_tokens_per_s", "total_tokens_per_s")


def check_entries(gates: Sequence[Gate], entries: Sequence[str], scenarios: Sequence[str]) -> None:
    """ConfigError for the first gate naming an entry or scenario not in the plan's."""
    for gate in gates:
        problem = _problem(gate, entries, scenarios)
        if problem:
            raise ConfigError(f"gate {gate.expr!r}: {problem}")


def _problem(gate: Gate, entries: Sequence[str], scenarios: Sequence[str]) -> str | None:
    entry = gate.entry
    if gate.server or entry is None or entry == EVERY:
        return None
    if is_stream_entry(entry):
        kind, _, scenario = entry.partition(":")
        streamed = [name for name in scenarios if f"TTFT {name}" in entries]
        if scenario in streamed:
            return None
        what = "no streamed calls in scenario" if scenario in scenarios else "unknown scenario"
        return (
            f"{what} {scenario!r}, expected {kind}:SCENARIO with a streamed scenario of the "
            f"plan: {', '.join(streamed) or 'none'}"
        )
    if gate.metric in SCENARIO_METRICS:
        if entry in scenarios:
            return None
        known = ", ".join(scenarios)
        return f"unknown scenario {entry!r}, expected one of the plan's scenarios: {known}"
    if entry in entries:
        return None
    by_path = [known for known in entries if known.split(" ", 1)[-1] == entry]
    if len(by_path) == 1:
        return None
    if by_path:
        return f"entry {entry!r} is ambiguous, expected one of {', '.join(by_path)}"
    return f"unknown entry {entry!r}, expected one of the plan's entries: {', '.join(entries)}"
