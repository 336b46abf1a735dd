"""Stress steps, the stop criteria, the knee and the load phase's degradation point (pure).

For a closed-loop load without think time, throughput grows about linearly with users until the
target's concurrency (engine slots) is used up, then plateaus (or falls) while latency grows.

Throughput has *stopped growing* over the last two steps when their goodput
(``rps * (1 - error_rate)``) gained less than ``min_rps_gain`` and less than half as much as the
users did: a linear ramp never stalls, whatever its slope or its user counts. There is a knee
only where throughput stopped growing: when the steps end (``max_steps``, the time bound) while it
still grows, there is none, and ``not_saturated`` says how far the search went. The knee is then
the first step whose goodput comes within ``tolerance`` of the plateau and that no later step
beats by more than ``2 * tolerance``; the plateau is the median of the three best goodputs, so
one lucky step does not raise it.

API: ``Step(users, rps, p95_ms, error_rate)``, ``Knee(users, rps, p95_ms)``,
``stop_reason(steps, params) -> str | None`` (params: StressParams or a dict of its criteria),
``find_knee(steps, tolerance, min_rps_gain) -> Knee | None``,
``not_saturated(steps, knee, params) -> {users, rps} | None``,
``degradation_point(steps) -> Step | None``,
``stress_section(steps, knee, stop_reason, saturated, params) -> dict`` (summary["stress"]),
``no_knee_finding(stress, phase) -> str | None`` (the console's and the report's sentence).
Steps may be Step objects or the dicts the stress shape writes to stress_steps.jsonl.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

_DEFAULTS = {"max_error_rate": 0.05, "p95_limit_ms": math.inf, "min_rps_gain": 0.05}


@dataclass(frozen=True)
class Step:
    """One stress step's measurement (its warm-up left out)."""

    users: int
    rps: float
    p95_ms: float
    error_rate: float

    @property
    def goodput(self) -> float:
        return self.rps * (1.0 - min(1.0, max(0.0, self.error_rate)))


@dataclass(frozen=True)
class Knee:
    users: int
    rps: float
    p95_ms: float


class StopParams(Protocol):
    """What ``stop_reason`` reads (``agentload.profiles.model.StressParams`` has these)."""

    @property
    def max_error_rate(self) -> float: ...
    @property
    def p95_limit_ms(self) -> float: ...
    @property
    def min_rps_gain(self) -> float: ...
    @property
    def max_steps(self) -> int: ...


def as_step(value: Step | Mapping[str, Any]) -> Step:
    """A Step from a Step or a mapping with ``users``, ``rps``, ``p95_ms``, ``error_rate``."""
    if isinstance(value, Step):
        return value
    p95 = value.get("p95_ms")
    return Step(
        users=int(value["users"]),
        rps=float(value["rps"]),
        p95_ms=float(p95) if p95 is not None else math.nan,
        error_rate=float(value.get("error_rate") or 0.0),
    )


def stop_reason(
    steps: Sequence[Step | Mapping[str, Any]], params: StopParams | Mapping[str, Any]
) -> str | None:
    """Why stepping should stop after the last step, or None to go on. ``params`` is a
    StressParams or a mapping (missing keys: 5 % errors, no P95 limit, 5 % gain, no max steps)."""
    if not steps:
        return None
    max_err, p95_limit, min_gain, max_steps = _criteria(params)
    last, before = as_step(steps[-1]), as_step(steps[-3]) if len(steps) >= 3 else None
    if last.error_rate > max_err:
        return f"error rate {last.error_rate:.1%} > {max_err:.1%} at {last.users} users"
    if math.isfinite(last.p95_ms) and last.p95_ms > p95_limit:
        return f"p95 {last.p95_ms:.0f}ms > limit {p95_limit:.0f}ms at {last.users} users"
    if before is not None and _stalled(before, last, min_gain):
        gain = last.goodput / before.goodput - 1
        return (
            f"throughput stopped growing: {gain:+.1%} over the last 2 steps "
            f"(< {min_gain:.0%}) at {last.users} users"
        )
    if max_steps is not None and len(steps) >= max_steps:
        return f"reached max_steps ({max_steps}) at {last.users} users without breaking"
    return None


def _stalled(before: Step, last: Step, min_gain: float) -> bool:
    """Throughput stopped growing from ``before`` to ``last``: the goodput gained less than
    ``min_gain`` and less than half as much as the users did (a linear ramp never stalls)."""
    if before.goodput <= 0 or before.users <= 0:
        return False
    gain = last.goodput / before.goodput - 1
    return gain < min_gain and gain < (last.users / before.users - 1) / 2


def _broke(step: Step, params: StopParams | Mapping[str, Any]) -> bool:
    """The step broke a limit: its error rate or its P95 (not a throughput criterion)."""
    max_err, p95_limit, _, _ = _criteria(params)
    return step.error_rate > max_err or (math.isfinite(step.p95_ms) and step.p95_ms > p95_limit)


def _criteria(params: StopParams | Mapping[str, Any]) -> tuple[float, float, float, int | None]:
    if isinstance(params, Mapping):
        merged = {**_DEFAULTS, **{k: v for k, v in params.items() if v is not None}}
        steps = merged.get("max_steps")
        return (
            float(merged["max_error_rate"]),
            float(merged["p95_limit_ms"]),
            float(merged["min_rps_gain"]),
            int(steps) if steps is not None else None,
        )
    return params.max_error_rate, params.p95_limit_ms, params.min_rps_gain, params.max_steps


def find_knee(
    steps: Sequence[Step | Mapping[str, Any]], tolerance: float = 0.05, min_rps_gain: float = 0.05
) -> Knee | None:
    """The first step whose goodput reaches ``(1 - tolerance)`` of the plateau, or None when there
    is no plateau: throughput did not stop growing over the last two steps (see the module
    docstring; ``min_rps_gain`` as in the stop criteria)."""
    usable = [s for s in sorted(map(as_step, steps), key=lambda s: s.users) if s.goodput > 0]
    if len(usable) < 2:
        return None
    before = usable[-3] if len(usable) >= 3 else usable[-2]
    if not _stalled(before, usable[-1], min_rps_gain):
        return None  # still growing at the last step: not saturated (a ramp has no knee)
    best = sorted((s.goodput for s in usable), reverse=True)[:3]
    plateau = statistics.median(best)
    threshold = (1 - tolerance) * plateau
    for index, step in enumerate(usable):
        if step.goodput < threshold:
            continue
        later = usable[index + 1 :]
        if later and max(s.goodput for s in later) > step.goodput * (1 + 2 * tolerance):
            continue  # still climbing: not the plateau yet
        return Knee(users=step.users, rps=step.rps, p95_ms=step.p95_ms)
    return None


def not_saturated(
    steps: Sequence[Step | Mapping[str, Any]],
    knee: Knee | None,
    params: StopParams | Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """``{users, rps}`` of the largest step when the search found no knee because it ran out of
    steps (or time) while throughput still grew; None when there is a knee, no step served a
    request, or the last step broke the error-rate or P95 limit (it did not run out of steps)."""
    if knee is not None:
        return None
    ordered = sorted(map(as_step, steps), key=lambda s: s.users)
    if not ordered or not any(s.goodput > 0 for s in ordered):
        return None
    last = ordered[-1]
    if _broke(last, params or {}):
        return None
    return {"users": last.users, "rps": round(last.rps, 3)}


def degradation_point(
    steps: Sequence[Step | Mapping[str, Any]], rise: float = 0.5, min_delta_ms: float = 20.0
) -> Step | None:
    """The first step whose P95 exceeds the baseline (the lowest P95 of the first two steps) by
    more than ``rise`` (relative) and ``min_delta_ms``, and stays there at the next step."""
    ordered = sorted(map(as_step, steps), key=lambda s: s.users)
    valid = [s for s in ordered if math.isfinite(s.p95_ms)]
    if len(valid) < 2:
        return None
    baseline = min(s.p95_ms for s in valid[:2])
    limit = max(baseline * (1 + rise), baseline + min_delta_ms)
    for index, step in enumerate(valid[1:], start=1):
        if step.p95_ms > limit and all(s.p95_ms > limit for s in valid[index + 1 : index + 2]):
            return step
    return None


def stress_section(
    steps: Sequence[Step | Mapping[str, Any]],
    knee: Knee | None,
    reason: str | None,
    saturated: str | None,
    params: StopParams | Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The summary's ``stress`` object (``params``: the stop criteria, for ``not_saturated``)."""
    return {
        "steps": [_finite(asdict(as_step(s))) for s in steps],
        "knee": _finite(asdict(knee)) if knee else None,
        "not_saturated": not_saturated(steps, knee, params),
        "stop_reason": reason,
        "saturated": saturated,
    }


def no_knee_finding(stress: Mapping[str, Any], phase: str = "stress") -> str | None:
    """The sentence for a search without a knee (None when it found one or measured nothing):
    how far it went and the knob that goes further (``--users`` scales the stress phase's
    steps; in the profile phase ``--users`` is the load to hold, so the profile's ``[stress]``
    table is the knob)."""
    if stress.get("knee"):
        return None
    far = stress.get("not_saturated")
    if far:
        knob = (
            "raise [stress] max_steps or step_users in the profile"
            if phase == "profile"
            else "raise --users (or [stress] max_steps / step_users)"
        )
        return f"not saturated up to {far['users']} users ({far['rps']:.1f} rps): {knob}"
    steps = [as_step(s) for s in stress.get("steps") or []]
    if not steps:
        return None
    why = stress.get("stop_reason")
    if not any(s.goodput > 0 for s in steps):
        return f"no knee: no step served a successful request (stopped: {why})"
    return f"no knee: throughput still grew when a limit stopped the search ({why})"


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in values.items()
    }
