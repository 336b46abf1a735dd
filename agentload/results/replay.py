"""summary.json's ``replay`` section: the trace, what became of its rows, the schedule's fidelity.

``replay_section(trace, final)``: ``trace`` is what the runner found in the trace before the
load (:func:`agentload.scenarios.replay.describe`: file, format, rows, speed, ...), ``final``
the run's final.json (its ``replay`` histogram and the counts of every row, whatever the
window of the figures)::

    {"trace": {...}, "scheduled": 200, "sent": 200, "late": 0, "dropped": 0, "not_reached": 0,
     "send_error_ms": {"calls": 200, "p50": 0.41, "p99": 1.9, "max": 2.6}}

``scheduled``: the rows due within ``--max-duration``; ``not_reached``: those neither sent nor
dropped (the run ended first); ``send_error_ms``: each sent call's actual send time (Locust's
start of its first request) minus its scheduled time, from the exact histogram the Locust
processes kept (within 0.1 %). ``replay_finding(section)`` is the console's line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentload.metrics import latency


def replay_section(trace: Mapping[str, Any], final: Mapping[str, Any] | None) -> dict[str, Any]:
    final = final or {}
    counts = (final.get("replay") or {}).get("rows") or final.get("open_model") or {}
    sent, late, dropped = (int(counts.get(k) or 0) for k in ("sent", "late", "dropped"))
    scheduled = int(trace.get("scheduled") or 0)
    errors: dict[str, Any] = {"calls": 0, "p50": None, "p99": None, "max": None}
    text = (final.get("replay") or {}).get("send_error")
    if text:
        hist = latency.decode(text)
        p50, p99 = latency.percentiles_ms(hist, [0.50, 0.99])
        top = latency.max_us(hist)
        errors = {
            "calls": latency.count(hist),
            "p50": _ms(p50),
            "p99": _ms(p99),
            "max": _ms(top / 1000.0 if top is not None else None),
        }
    return {
        "trace": dict(trace),
        "scheduled": scheduled,
        "sent": sent,
        "late": late,
        "dropped": dropped,
        "not_reached": max(0, scheduled - sent - dropped),
        "send_error_ms": errors,
    }


def replay_finding(section: Mapping[str, Any]) -> str:
    """One console line: rows sent of scheduled, late, dropped, the send-time error."""
    trace, errors = section.get("trace") or {}, section.get("send_error_ms") or {}
    line = (
        f"replay of {trace.get('file')} ({trace.get('format')}, speed {trace.get('speed')}): "
        f"{section.get('sent')} of {section.get('scheduled')} rows sent, "
        f"{section.get('late')} late, {section.get('dropped')} dropped"
    )
    if section.get("not_reached"):
        line += f", {section['not_reached']} not reached"
    if errors.get("p99") is not None:
        line += (
            f"; send-time error p50 {errors['p50']:.2f} ms, p99 {errors['p99']:.2f} ms, "
            f"max {errors['max']:.2f} ms"
        )
    return line


def _ms(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None
