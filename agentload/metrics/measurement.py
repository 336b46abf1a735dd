"""How a run's figures were measured, in sentences for the console and the report (pure).

``measurement_notes(summary) -> list[str]``: the load model (closed loop: the warning that its
percentiles under-report stalls; open model: the arrivals) and requests cut off at stop.
"""

from __future__ import annotations

from typing import Any

CLOSED_LOOP_NOTE = (
    "closed loop: each user waits for its previous response, so a stalled server also holds "
    "back new requests and these percentiles under-report stalls; the open model times every "
    "request from its intended start (docs: How agentload measures)"
)


def measurement_notes(summary: dict[str, Any]) -> list[str]:
    """How the figures were measured, one line each: the load model and requests cut off."""
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
            "not in the figures"
        )
    return lines
