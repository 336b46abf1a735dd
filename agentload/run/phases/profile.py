"""profile: the load to hold (the profile's `knee_users`/`--users`, else a stress run in
`stress/`: its knee, or its largest step when it found none), then a hold at that load while
py-spy records the target; `summary["profile"]` says where the users came from.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from agentload.errors import RunAborted
from agentload.metrics.knee import no_knee_finding
from agentload.run.phases.drive import drive, plan_for
from agentload.run.phases.stress import run_stress
from agentload.run.profiler import ProfileError, PySpy

if TYPE_CHECKING:
    from agentload.run.context import PhaseContext

log = logging.getLogger("agentload")


def run_profile(ctx: PhaseContext) -> None:
    """Find (or take) the knee, hold it, and record the target with py-spy meanwhile."""
    params = ctx.profile.profile
    assert params is not None
    users, users_from = params.knee_users, "given"
    if users is None:
        users, users_from = _users_to_hold(
            ctx, run_stress(ctx, ctx.out_dir / "stress", last_run=False)
        )
    pid = ctx.target.pids.get("supervisor") if ctx.target else None
    pid = ctx.config.pid or pid
    hold = params.warmup_s + params.hold_s
    spy: PySpy | None = None
    result: dict[str, Any] = {"users": users, "users_from": users_from}

    def on_tick(elapsed: float) -> bool:
        nonlocal spy
        if pid is None:
            return False
        if spy is None and elapsed >= params.warmup_s:
            spy = PySpy(pid, params.hold_s, ctx.out_dir, rate=params.rate_hz)
            spy.start()
            ctx.adopt(spy, "py-spy", spy.pids)
            log.info("profile: py-spy recording pid %s for %gs", pid, params.hold_s)
        return spy is not None and not spy.running()

    plan = plan_for(ctx, ctx.out_dir, users=users, spawn_rate=ctx.profile.spawn_rate, run_time=hold)
    completed = False
    try:
        drive(ctx, plan, hold + 10, on_tick)
        completed = True
    finally:
        if pid is None:
            result["error"] = (
                "no PID to profile: the target was not started by agentload; pass --pid"
            )
        elif spy is None:
            result["error"] = "the run ended before py-spy started"
        else:
            if not completed:
                spy.interrupt()  # py-spy writes what it sampled so far
            try:
                result.update(spy.wait(timeout=params.hold_s + 15 if completed else 10))
            except ProfileError as exc:
                result["error"] = str(exc)
        if "error" in result:
            log.warning("profile: %s", result["error"])
            ctx.record.notes.append(f"profile: {result['error']}")
        ctx.record.sections["profile"] = result


def _users_to_hold(ctx: PhaseContext, stress: dict[str, Any]) -> tuple[int, str]:
    """The stress run's knee, else its largest step (said in ctx.record.notes and the log):
    ``(users, "knee" | "not_saturated" | "largest_step")``."""
    knee = stress.get("knee") or {}
    if knee.get("users"):
        log.info("profile: knee at %s users (%s)", knee["users"], stress.get("stop_reason"))
        return int(knee["users"]), "knee"
    steps = stress.get("steps") or []
    users = max((int(s["users"]) for s in steps), default=None)
    if users is None:
        raise RunAborted("profile: the stress run measured no step, so there is no knee")
    why = no_knee_finding(stress, phase="profile") or f"no knee ({stress.get('stop_reason')})"
    note = f"profile: {why}; profiling the largest step, {users} users, instead of a knee"
    log.warning("%s", note)
    ctx.record.notes.append(note)
    return users, "not_saturated" if stress.get("not_saturated") else "largest_step"
