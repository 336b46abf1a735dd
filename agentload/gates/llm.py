"""LLM-serving figures: ``summary["llm"]``, ``summary["goodput"]`` and ``summary["sweep"]``.

- ``p95(ttft:SCENARIO)`` (also ``itl:``, ``tpot:``, ``e2e:``; p50, p90, p95, p99 and ``avg``,
  the mean): a streamed scenario's distribution from ``llm[SCENARIO]``;
- ``output_tokens_per_s`` and ``total_tokens_per_s``: of one scenario (``(SCENARIO)``) or summed
  over the streamed scenarios, over the measurement window; the reason names their base
  (``tokens of 120 streamed calls``, from the section's ``tokens_base`` and ``requests``);
- ``goodput(SCENARIO)``: the share of its calls meeting every SLO (no entry: over all scenarios);
- ``max_rate_under_slo``: the sweep's highest rate whose goodput met its target.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentload.gates.client import Observed
from agentload.gates.grammar import Gate, finite

STREAM_KINDS = ("ttft", "itl", "tpot", "e2e")
_QUANTILE_KEYS = {"p50": "p50", "p90": "p90", "p95": "p95", "p99": "p99", "avg": "mean"}


def is_stream_entry(entry: str | None) -> bool:
    """``ttft:chat`` and the like: a latency of the llm section, not of an entry."""
    return entry is not None and entry.partition(":")[0] in STREAM_KINDS and ":" in entry


def observe_llm(gate: Gate, summary: Mapping[str, Any]) -> Observed:
    """The gate's figure from the LLM sections (see the module docstring)."""
    if gate.metric == "goodput":
        return _goodput(gate, summary.get("goodput"))
    if gate.metric == "max_rate_under_slo":
        sweep = summary.get("sweep")
        if not isinstance(sweep, Mapping):
            return None, "no sweep in this run: max_rate_under_slo comes from `agentload run sweep`"
        found = sweep.get("max_rate_under_slo")
        value = finite(found.get("rate") if isinstance(found, Mapping) else found)
        return value, "" if value is not None else "no rate of the sweep met the goodput target"
    llm = summary.get("llm")
    if not isinstance(llm, Mapping) or not llm:
        return None, "no streamed requests in this run: the LLM figures come from streams"
    if gate.metric in ("output_tokens_per_s", "total_tokens_per_s"):
        if gate.entry is None:
            counted = [s for s in llm.values() if finite(s.get(gate.metric)) is not None]
            if not counted:
                return None, f"no {gate.metric} measured"
            return sum(float(s[gate.metric]) for s in counted), _base(counted)
        value, note = _of(llm, gate.entry, gate.metric)
        return value, note if value is None else _base([llm[gate.entry]])
    kind, _, scenario = (gate.entry or "").partition(":")
    section = llm.get(scenario)
    if not isinstance(section, Mapping):
        streamed = ", ".join(sorted(llm)) or "none"
        return None, f"no streamed requests of scenario {scenario!r} (streamed: {streamed})"
    key = _QUANTILE_KEYS.get(gate.metric)
    if key is None:
        return None, f"{gate.metric} of {kind} is not kept: use p50, p90, p95, p99 or avg"
    figures = section.get(f"{kind}_ms") or {}
    value = finite(figures.get(key))
    return value, "" if value is not None else f"no {kind} values for {scenario!r}"


def _base(sections: list[Mapping[str, Any]]) -> str:
    """What token rates are over: ``tokens of 120 streamed calls`` (``of 1 streamed call``)."""
    calls = sum(int(s.get("requests") or 0) for s in sections)
    base = " and ".join(sorted({str(s.get("tokens_base") or "streamed calls") for s in sections}))
    if calls == 1:
        base = base.removesuffix("s")
    return f"tokens of {calls} {base}" if calls else f"tokens of {base}"


def _of(llm: Mapping[str, Any], scenario: str, key: str) -> Observed:
    section = llm.get(scenario)
    if not isinstance(section, Mapping):
        return None, f"no streamed requests of scenario {scenario!r}"
    value = finite(section.get(key))
    return value, "" if value is not None else f"no {key} for {scenario!r}"


def _goodput(gate: Gate, goodput: Any) -> Observed:
    if not isinstance(goodput, Mapping) or not goodput:
        return None, "no SLOs in this run: give --slo (e.g. --slo e2e=10s) or the profile's [slo]"
    if gate.entry is None:
        requests = sum(int(s.get("requests") or 0) for s in goodput.values())
        met = sum(int(s.get("met") or 0) for s in goodput.values())
        return (met / requests, "") if requests else (None, "no calls were counted for goodput")
    section = goodput.get(gate.entry)
    if not isinstance(section, Mapping):
        known = ", ".join(sorted(goodput))
        return None, f"no goodput for scenario {gate.entry!r} (scenarios: {known})"
    value = finite(section.get("share"))
    return value, "" if value is not None else f"no calls of {gate.entry!r} were counted"
