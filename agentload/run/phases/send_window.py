"""``--warmup`` and ``--cooldown``: the window of a run's figures, given to its Locust processes.

A run with a planned length (the rate phase, each run of a sweep, a replay) leaves the calls sent
in its first ``--warmup`` and last ``--cooldown`` out of its figures: they are made, so the
target is loaded as in steady state, recorded in ``requests.jsonl.gz`` (``in_window: false``),
and counted nowhere else; the figures and ``summary.json``'s ``window`` are those of the window
between (:mod:`agentload.locust.send_window` does it inside Locust,
:func:`agentload.metrics.measurement.send_window` reads it back). Each is a duration (``10s``)
or a share of the run (``5%``: of each sweep run's ``step_duration``).

``check_window(config, profile)`` checks them before any load (ConfigError: exit 2, one line);
``with_window(ctx, plan, planned_s)`` gives one Locust run its window (``drive()`` calls it, so
every phase's runs get it).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from agentload.durations import parse_portion
from agentload.errors import ConfigError
from agentload.profiles.model import Profile
from agentload.run.config import RunConfig
from agentload.run.locust_plan import LocustPlan

if TYPE_CHECKING:
    from agentload.run.context import PhaseContext

#: The shapes whose runs have a planned length to take a window from.
WINDOWED_SHAPES = ("open_model", "sweep", "replay")


def check_window(config: RunConfig, profile: Profile) -> None:
    """``--warmup``/``--cooldown``: well formed, on a phase with a planned length, and leaving
    some of it to measure (ConfigError otherwise)."""
    if config.warmup is None and config.cooldown is None:
        return
    given = " and ".join(
        f"--{name} {value}"
        for name, value in (("warmup", config.warmup), ("cooldown", config.cooldown))
        if value is not None
    )
    if profile.shape not in WINDOWED_SHAPES or profile.profile is not None:
        raise ConfigError(
            f"{given}: only rate, sweep and replay runs have a planned length to leave out of "
            f"the figures, not {profile.phase}"
        )
    planned = None
    if profile.shape == "open_model":
        planned = profile.duration_s
    elif profile.shape == "sweep" and profile.sweep is not None:
        planned = profile.sweep.step_duration_s
    trims(config, planned)


def trims(config: RunConfig, planned_s: float | None) -> tuple[float, float]:
    """The warm-up and cool-down of a run of ``planned_s`` seconds (None: only check the
    values), in seconds; ConfigError when they leave nothing of it to measure."""
    seconds = []
    for name, value in (("warmup", config.warmup), ("cooldown", config.cooldown)):
        if value is None:
            seconds.append(0.0)
            continue
        amount, share = parse_portion(value, what=f"--{name}")
        seconds.append(amount * planned_s if share and planned_s is not None else amount)
    warmup, cooldown = seconds
    if planned_s is not None and warmup + cooldown >= planned_s:
        raise ConfigError(
            f"--warmup {config.warmup or 0} and --cooldown {config.cooldown or 0} leave nothing "
            f"of the {planned_s:g}s run to measure: keep them under its length together"
        )
    return warmup, cooldown


def with_window(ctx: PhaseContext, plan: LocustPlan, planned_s: float) -> LocustPlan:
    """``plan`` with the window of a run of ``planned_s`` seconds (unchanged without
    ``--warmup``/``--cooldown``, or for a phase that has none)."""
    config = ctx.config
    if (config.warmup is None and config.cooldown is None) or ctx.profile.shape not in (
        WINDOWED_SHAPES
    ):
        return plan
    warmup, cooldown = trims(config, planned_s)
    window = {"warmup_s": warmup, "cooldown_s": cooldown, "duration_s": planned_s}
    return replace(plan, window=window)
