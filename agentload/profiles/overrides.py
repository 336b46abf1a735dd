"""CLI overrides of a phase profile, applied so that the stage table keeps its form.

``apply_overrides(profile, overrides) -> Profile`` takes a mapping of these (None values are
ignored; ConfigError quoting the option for a bad value or an unknown key):

- ``duration``: shape ``none`` runs that long; ``stages`` scales every stage's length by
  ``duration / sum(stage lengths)``; ``stress`` scales ``warmup_s`` and ``step_duration_s`` so that
  all ``max_steps`` steps fit in it; a ``[profile]`` phase gives a third to ``hold_s`` and the
  rest to its knee search (all to ``hold_s`` when ``knee_users`` is set); a sweep gives every run
  an equal share.
- ``users``: shape ``none`` runs that many; ``stages`` scales each stage's users by
  ``users / peak users`` (at least 1); ``stress`` scales ``start_users`` and ``step_users`` so that
  the last step reaches ``users``.
- ``spawn_rate``: replaces the spawn rate of the run and of every stage.
- ``gates``: added to the profile's gates.
- ``rate``, ``arrival`` (open model only) and ``slo`` (``["ttft=500ms"]``, merged over the
  profile's ``slo`` table).
- ``steps``, ``step_duration`` (sweep only).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from agentload.durations import parse_duration
from agentload.errors import ConfigError
from agentload.gates.grammar import parse_gate
from agentload.metrics.slo import parse_slos
from agentload.profiles.model import Profile, Stage, StressParams


def apply_overrides(profile: Profile, overrides: Mapping[str, Any]) -> Profile:
    """Apply the CLI overrides listed in the module docstring (None values are ignored)."""
    known = {
        "users", "spawn_rate", "duration", "gates", "rate", "arrival", "slo", "steps",
        "step_duration",
    }  # fmt: skip
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"unknown override(s) {unknown}, expected {sorted(known)}")
    update: dict[str, Any] = {}
    users = _positive_int(overrides.get("users"), "--users")
    rate = _positive_float(overrides.get("spawn_rate"), "--spawn-rate")
    raw_duration = overrides.get("duration")
    duration = None if raw_duration is None else parse_duration(raw_duration, what="--duration")
    if duration is not None and duration <= 0:
        raise ConfigError(f"--duration: got {raw_duration!r}, expected a duration above 0")
    if users is not None:
        update["users"] = users
        update.update(_scale_users(profile, users))
    if rate is not None:
        update["spawn_rate"] = rate
        stages = update.get("stages", profile.stages)
        update["stages"] = [s.model_copy(update={"spawn_rate": rate}) for s in stages]
    if duration is not None:
        update["duration_s"] = duration
        search = duration
        if profile.profile is not None:
            searching = profile.shape == "stress" and profile.profile.knee_users is None
            hold = duration / 3 if searching else duration
            search = duration - hold
            warmup = min(profile.profile.warmup_s, hold / 3)
            update["profile"] = profile.profile.model_copy(
                update={"hold_s": hold, "warmup_s": warmup}
            )
        update.update(_scale_duration(profile, update, search))
    update.update(_open_model_overrides(profile, overrides, users))
    update.update(_sweep_overrides(profile, overrides, duration))
    if overrides.get("slo"):
        given = {}
        for item in overrides["slo"]:
            metric = item.partition("=")[0].strip().lower()
            parse_slos([item])
            given[metric] = item.partition("=")[2].strip()
        update["slo"] = {**profile.slo, **given}
    if overrides.get("gates"):
        extra = list(overrides["gates"])
        for expr in extra:
            parse_gate(expr)
        update["gates"] = [*profile.gates, *extra]
    return profile.model_copy(update=update) if update else profile


def _open_model_overrides(
    profile: Profile, overrides: Mapping[str, Any], users: int | None
) -> dict[str, Any]:
    """``--rate``, ``--arrival`` and ``--users`` (the first pool) of an open-model profile."""
    rate = _positive_float(overrides.get("rate"), "--rate")
    arrival = overrides.get("arrival")
    if rate is None and arrival is None and users is None:
        return {}
    if profile.rate is None:
        if rate is None and arrival is None:
            return {}
        raise ConfigError(
            f"--rate/--arrival: phase {profile.phase!r} is closed-loop, expected the rate phase"
        )
    if arrival is not None and arrival not in ("poisson", "constant"):
        raise ConfigError(f"--arrival: got {arrival!r}, expected poisson or constant")
    changes: dict[str, Any] = {}
    if rate is not None:
        changes["rate_per_s"] = rate
    if arrival is not None:
        changes["arrival"] = arrival
    if users is not None:
        changes["users"] = users
        changes["max_users"] = max(users, profile.rate.max_users)
    return {"rate": profile.rate.model_copy(update=changes)}


def _sweep_overrides(
    profile: Profile, overrides: Mapping[str, Any], duration: float | None
) -> dict[str, Any]:
    """``--steps``, ``--step-duration`` (and ``--duration``: the whole sweep, every run an equal
    share of it) of a sweep profile."""
    steps = _positive_int(overrides.get("steps"), "--steps")
    raw = overrides.get("step_duration")
    step_s = None if raw is None else parse_duration(raw, what="--step-duration")
    if steps is None and step_s is None and duration is None:
        return {}
    if profile.sweep is None:
        if steps is None and step_s is None:
            return {}
        raise ConfigError(
            f"--steps/--step-duration: phase {profile.phase!r} is not a sweep, expected sweep"
        )
    changes: dict[str, Any] = {}
    if steps is not None:
        changes["steps"] = steps
    runs = changes.get("steps", profile.sweep.steps) + 2
    if step_s is None and duration is not None:
        step_s = duration / runs
    if step_s is not None:
        if step_s < 2:
            raise ConfigError(f"--step-duration: got {step_s:g}s, expected at least 2s per run")
        changes["step_duration_s"] = step_s
    return {"sweep": profile.sweep.model_copy(update=changes)}


def _scale_users(profile: Profile, users: int) -> dict[str, Any]:
    if profile.shape == "stages":
        factor = users / max(1, profile.peak_users)
        stages = [
            s.model_copy(update={"users": max(1, round(s.users * factor))}) for s in profile.stages
        ]
        return {"stages": stages}
    if profile.shape == "stress" and profile.stress is not None:
        st = profile.stress
        factor = users / max(1, profile.peak_users)
        start = max(1, round(st.start_users * factor))
        step = max(1, math.ceil((users - start) / max(1, st.max_steps - 1)))
        return {"stress": st.model_copy(update={"start_users": start, "step_users": step})}
    return {}


def _scale_duration(profile: Profile, update: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    stages: list[Stage] = update.get("stages", profile.stages)
    total = sum(s.duration_s for s in stages)
    if profile.shape == "stages" and total > 0:
        out["stages"] = [
            s.model_copy(update={"duration_s": s.duration_s * seconds / total}) for s in stages
        ]
    stress: StressParams | None = update.get("stress", profile.stress)
    if profile.shape == "stress" and stress is not None:
        full = stress.max_steps * (stress.step_duration_s)
        factor = seconds / full if full > 0 else 1.0
        out["stress"] = stress.model_copy(
            update={
                "step_duration_s": stress.step_duration_s * factor,
                "warmup_s": min(stress.warmup_s * factor, stress.step_duration_s * factor / 2),
            }
        )
    return out


def _positive_int(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{what}: got {value!r}, expected a whole number >= 1")
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{what}: got {value!r}, expected a whole number >= 1") from None
    if number < 1:
        raise ConfigError(f"{what}: got {value!r}, expected a whole number >= 1")
    return number


def _positive_float(value: Any, what: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what}: got {value!r}, expected a number > 0") from None
    if isinstance(value, bool) or not math.isfinite(number) or number <= 0:
        raise ConfigError(f"{what}: got {value!r}, expected a number > 0")
    return number
