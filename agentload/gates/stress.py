"""What the stress search found: ``summary["stress"]`` (``knee``, ``not_saturated``, ``steps``).

``knee_rps`` is the knee's rps; ``max_rps`` the best step's throughput of successful requests
(``rps * (1 - error_rate)``, the goodput the knee is read on); ``peak_error_rate`` the error rate
of the step where throughput peaked: the knee, or the largest step when the search was not
saturated (the load the profile phase holds), none when a limit broke the search before a
knee; ``knee_found`` 1 or 0. In the profile phase the stress section is the profile's own knee
search (none when it held a given load).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentload.gates.client import Observed, number
from agentload.gates.grammar import Gate, finite

NO_SEARCH = "no stress search in this run (a profile given --users or knee_users has none)"


def observe_stress(gate: Gate, summary: Mapping[str, Any]) -> Observed:
    """``knee_rps``, ``max_rps`` or ``knee_found``; a missing knee fails with how far it went."""
    stress = summary.get("stress")
    if not isinstance(stress, Mapping):
        return None, NO_SEARCH
    knee = stress.get("knee")
    if gate.metric == "max_rps":
        rates = [_goodput(step) for step in stress.get("steps") or []]
        best = max((r for r in rates if r is not None), default=None)
        return number(best, "no stress step was measured")
    why = "" if knee else no_knee_reason(stress)
    if gate.metric == "peak_error_rate":
        return _peak_error_rate(stress, why)
    if gate.metric == "knee_found":
        return (1.0 if knee else 0.0), why
    return number((knee or {}).get("rps"), why) if knee else (None, why)


def no_knee_reason(stress: Mapping[str, Any]) -> str:
    """``no knee: not saturated up to N users (X rps)``, or why else there is none."""
    far = stress.get("not_saturated")
    if isinstance(far, Mapping) and far.get("users") is not None:
        rps = finite(far.get("rps"))
        shown = f" ({rps:.1f} rps)" if rps is not None else ""
        return f"no knee: not saturated up to {far['users']} users{shown}"
    if not stress.get("steps"):
        return "no knee: no stress step was measured"
    return f"no knee (stopped: {stress.get('stop_reason')})"


def _peak_error_rate(stress: Mapping[str, Any], why: str) -> Observed:
    peak = stress.get("knee") or stress.get("not_saturated")
    if not isinstance(peak, Mapping):
        return None, why
    steps = [s for s in stress.get("steps") or [] if isinstance(s, Mapping)]
    found = [s for s in steps if s.get("users") == peak.get("users")]
    at = f"the {'knee' if stress.get('knee') else 'largest step'} ({peak.get('users')} users)"
    return number(found[-1].get("error_rate") if found else None, f"no error rate at {at}")


def _goodput(step: Any) -> float | None:
    if not isinstance(step, Mapping):
        return None
    rps, errors = finite(step.get("rps")), finite(step.get("error_rate")) or 0.0
    return None if rps is None else rps * (1.0 - min(1.0, max(0.0, errors)))
