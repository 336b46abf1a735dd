"""smoke, load and rate: one Locust run of the profile's shape."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from agentload.errors import ConfigError
from agentload.run.phases.drive import drive, plan_for, processes
from agentload.run.phases.saturation_watch import OverSaturationWatch, either
from agentload.run.phases.until_watch import UntilWatch

if TYPE_CHECKING:
    from agentload.run.context import PhaseContext

log = logging.getLogger("agentload")


def run_load(ctx: PhaseContext) -> None:
    """smoke, load and rate: the profile's stage table, its users for its duration, or (rate)
    the open model's arrivals for its duration."""
    profile = ctx.profile
    if profile.shape == "open_model":
        if ctx.user_locustfile is not None:
            raise ConfigError(
                f"{profile.phase}: the open model paces agentload's OpenModelUser; with "
                "--locustfile use a closed-loop phase (smoke, load, stress, profile)"
            )
        total = profile.duration_s
        table = {**profile.shape_table(), "processes": processes(ctx)}
        plan = plan_for(ctx, ctx.out_dir, shape="open_model", shape_table=table)
        ctx.record.planned_s = total  # summary.json's not_measured
    elif profile.shape == "stages":
        table = profile.shape_table()
        total = sum(float(s["duration"]) for s in table["stages"])
        plan = plan_for(ctx, ctx.out_dir, shape="stages", shape_table=table)
    else:
        total = profile.duration_s
        plan = plan_for(
            ctx, ctx.out_dir, users=profile.users, spawn_rate=profile.spawn_rate, run_time=total
        )
    saturation = None  # the open model: ends when the target no longer keeps up
    if profile.shape == "open_model":
        saturation = OverSaturationWatch.for_run(ctx, ctx.out_dir)
    stop_saturated = saturation.tick if saturation is not None else None
    watch = UntilWatch.for_run(ctx, total)  # --until: stop once the figures are precise
    if watch is None:
        drive(ctx, plan, total, on_tick=stop_saturated)
    else:
        with watch:
            drive(ctx, plan, total, on_tick=either(watch.tick, stop_saturated))
    if saturation is not None:  # summary.json's over_saturated: null, or the evidence
        ctx.record.sections["over_saturated"] = saturation.evidence
        if saturation.evidence is not None:  # measured over what it ran
            ctx.record.planned_s = saturation.evidence["held_s"]
