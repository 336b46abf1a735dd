"""Service-level objectives per request and goodput: the share of requests meeting all of them.

An SLO is a latency limit on ``ttft`` (time to first token), ``tpot`` (time per output token)
or ``e2e`` (the whole call), as vLLM's ``--goodput`` takes them. ``parse_slos(["ttft=500ms",
"e2e=10s"])`` gives ``{"ttft": 500.0, "e2e": 10000.0}`` (ms; ConfigError naming the bad item).
A request meets its SLOs when it succeeded and every limit that applies holds (:func:`meets`):
a streamed call has all three; a plain call's first token comes with its answer, so its TTFT is
its E2E and TPOT does not apply; a job's E2E is its time to completion. Counted per scenario
(``{"goodput <scenario>": {"requests", "met"}}``), :func:`goodput_section` gives summary.json's
``goodput[SCENARIO] = {slo, requests, met, share, per_s, share_ci, per_s_ci}`` (the last two
95 % intervals, Wilson's and Poisson's). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agentload.durations import parse_duration
from agentload.errors import ConfigError
from agentload.metrics.precision import rate_ci, share_ci

SLO_METRICS = ("ttft", "tpot", "e2e")
GOODPUT = "goodput"
EXPECTED = 'expected "<metric>=<duration>" with metric ttft, tpot or e2e, e.g. "ttft=500ms"'


def parse_slos(items: Iterable[str]) -> dict[str, float]:
    """``["ttft=500ms", ...]`` as ``{metric: limit_ms}``; ConfigError in one line."""
    out: dict[str, float] = {}
    for item in items:
        metric, sep, value = item.partition("=")
        metric = metric.strip().lower()
        if not sep or metric not in SLO_METRICS:
            raise ConfigError(f"--slo {item!r}: {EXPECTED}")
        seconds = parse_duration(value.strip(), what=f"--slo {metric}")
        if seconds <= 0:
            raise ConfigError(f"--slo {item!r}: the limit must be above 0")
        out[metric] = seconds * 1000.0
    return out


def to_option(slos: Mapping[str, float]) -> str:
    """The Locust option's value: ``ttft=500,e2e=10000`` (ms)."""
    return ",".join(f"{k}={v:g}" for k, v in slos.items())


def from_option(text: str) -> dict[str, float]:
    """The inverse of :func:`to_option` (empty text: no SLOs)."""
    out = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        metric, _, value = item.partition("=")
        if metric not in SLO_METRICS:
            raise ConfigError(f"--agentload-slo {item!r}: {EXPECTED}")
        out[metric] = float(value)
    return out


def meets(
    slos: Mapping[str, float],
    ok: bool,
    e2e_ms: float,
    ttft_ms: float | None = None,
    tpot_ms: float | None = None,
) -> bool:
    """Whether one call meets every SLO that applies to it (see the module docstring)."""
    if not ok:
        return False
    observed = {"e2e": e2e_ms, "ttft": ttft_ms, "tpot": tpot_ms}
    return all(
        observed[metric] is None or float(observed[metric] or 0.0) <= limit
        for metric, limit in slos.items()
    )


def goodput_section(
    counts: Mapping[str, Mapping[str, int]],
    slos: Mapping[str, float],
    seconds: float | None,
) -> dict[str, dict[str, Any]]:
    """summary.json's ``goodput``: per scenario, the requests meeting all SLOs."""
    out: dict[str, dict[str, Any]] = {}
    for group, values in sorted(counts.items()):
        kind, _, scenario = group.partition(" ")
        if kind != GOODPUT or not scenario:
            continue
        requests, met = int(values.get("requests", 0)), int(values.get("met", 0))
        out[scenario] = {
            "slo": {f"{k}_ms": v for k, v in slos.items()},
            "requests": requests,
            "met": met,
            "share": round(met / requests, 6) if requests else None,
            "per_s": round(met / seconds, 3) if seconds and seconds > 0 else None,
            "share_ci": share_ci(met, requests),
            "per_s_ci": rate_ci(met, seconds),
        }
    return out
