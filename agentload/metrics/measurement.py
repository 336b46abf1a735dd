"""How a run's figures were measured, in sentences for the console and the report (pure).

``measurement_notes(summary) -> list[str]``: the load model (closed loop: the warning that its
percentiles under-report stalls; open model: the arrivals), requests cut off at stop, and a run
whose figures are not a measurement.

``not_measured(summary, planned_s) -> str | None``: why the figures of a run planned for
``planned_s`` seconds (the rate phase, each run of a sweep) are **not measured**, or None when
they are: its window (first request's start to last response's end) covers under
:data:`MIN_WINDOW_SHARE` of the run, or (the open model) it counted an outcome for under
:data:`MIN_COUNTED_SHARE` of the calls it sent. A rate over such a window, or over a part of
what was sent, says nothing of the target (a few requests in a window of milliseconds give
hundreds of requests per second): the sweep never takes it for its ``max_rate_under_slo``.
With ``--warmup``/``--cooldown`` the run planned is what lies between them.

``send_window(final_window)``: the window of send times the figures count with ``--warmup`` or
``--cooldown`` (:mod:`agentload.locust.send_window` leaves the calls sent outside it out).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CLOSED_LOOP_NOTE = (
    "closed loop: each user waits for its previous response, so a stalled server also holds "
    "back new requests and these percentiles under-report stalls; the open model times every "
    "request from its intended start (docs: How agentload measures)"
)
MIN_WINDOW_SHARE = 0.5  # of the planned run
MIN_COUNTED_SHARE = 0.9  # of the calls sent (open model)


def send_window(raw: Mapping[str, Any]) -> dict[str, float] | None:
    """The window of send times the figures count (``--warmup``, ``--cooldown``) from final.json's
    ``window``: ``{"start", "end", "warmup_s", "cooldown_s"}`` (unix seconds), its end the
    earlier of the planned one and the stop (a run ended early: until precise, over-saturated);
    None without one."""
    send = raw.get("send")
    if not isinstance(send, Mapping):
        return None
    values = [send.get(k) for k in ("start", "end", "warmup_s", "cooldown_s")]
    numbers = [float(v) for v in values if isinstance(v, int | float)]
    if len(numbers) != len(values):
        return None
    start, end, warmup, cooldown = numbers
    stopped = raw.get("stopped_at")
    if isinstance(stopped, int | float):
        end = min(end, float(stopped))
    return {"start": start, "end": max(start, end), "warmup_s": warmup, "cooldown_s": cooldown}


def not_measured(summary: Mapping[str, Any], planned_s: float) -> str | None:
    """Why the run's figures are not a measurement (see the module docstring), or None."""
    window = summary.get("window") or {}
    seconds = window.get("seconds")
    trims = [window.get(k) for k in ("warmup_s", "cooldown_s")]
    planned_s = max(0.0, planned_s - sum(t for t in trims if isinstance(t, int | float)))
    if not isinstance(seconds, int | float) or seconds < MIN_WINDOW_SHARE * planned_s:
        shown = f"{seconds:.3f}s" if isinstance(seconds, int | float) else "none: no request"
        return (
            f"its measurement window ({shown}) is under {MIN_WINDOW_SHARE:.0%} of the "
            f"{planned_s:g}s run"
        )
    sent = (summary.get("arrivals") or {}).get("sent")
    if isinstance(sent, int) and sent > 0:
        outcomes = (summary.get("agent_outcomes") or {}).values()
        counted = sum(int(row.get("total") or 0) for row in outcomes)
        if counted < MIN_COUNTED_SHARE * sent:
            return (
                f"{counted:,} of the {sent:,} calls sent were counted "
                f"(under {MIN_COUNTED_SHARE:.0%})"
            )
    return None


def measurement_notes(summary: dict[str, Any]) -> list[str]:
    """How the figures were measured, one line each: the load model, requests cut off, and
    figures that are not a measurement."""
    lines = []
    if summary.get("load_model") == "open" and (arrivals := summary.get("arrivals")):
        lines.append(
            f"open model: {arrivals['scheduled']} arrivals scheduled, {arrivals['sent']} sent, "
            f"{arrivals['late']} late, {arrivals['dropped']} dropped (failures of their entry)"
        )
    elif summary.get("load_model") == "closed":
        lines.append(CLOSED_LOOP_NOTE)
    cut_off = (summary.get("totals") or {}).get("cut_off")
    if cut_off:
        lines.append(
            f"{cut_off} requests were still in flight when the stop timeout ran out: cut off, "
            "each a failure of its entry ('cut off at stop') and its task an outcome 'timeout'"
        )
    if reason := summary.get("not_measured"):
        lines.append(f"not measured: {reason}; its rates and percentiles say nothing of the target")
    return lines
