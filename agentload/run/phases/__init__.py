"""The phases' Locust runs, one module per phase, and the wait that watches them (``runs``).

smoke, load and rate (``load``): one run of the profile's shape (`none`, `stages` or the open
model). stress: the `stress` shape, its steps in `stress_steps.jsonl`, then the knee (or how far
it went without one: `not_saturated`) and what saturated first. profile: the load to hold (the
profile's `knee_users`/`--users`, else a stress run in `stress/`: its knee, or its largest step
when it found none), then a hold at that load while py-spy records the target;
`summary["profile"]` says where the users came from. sweep: synchronous, throughput, then
open-model rates between. replay: one run of the replay shape over a trace (``replay``).
`runs.drive()` is the wait: it stops on a signal, a dead target, a lost
worker (by policy), a hopeless gate (early abort) or the time bound, and always hands the Locust
processes to the orchestrator so `stop()` ends them by PID. ``until_watch``: `--until`, the
check before load and the watch that stops a run of one load once its figures are precise.

Each phase receives a :class:`agentload.run.context.PhaseContext`, never the orchestrator.

May import: what ``agentload.run`` may, and ``agentload.run``'s modules except the orchestrator
and ``execute``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentload.run.phases.load import run_load
from agentload.run.phases.profile import run_profile
from agentload.run.phases.replay import run_replay
from agentload.run.phases.stress import run_stress
from agentload.run.phases.sweep import run_sweep

if TYPE_CHECKING:
    from agentload.run.context import PhaseContext


def run_phase(ctx: PhaseContext) -> None:
    """Run the phase the profile describes."""
    profile = ctx.profile
    if profile.profile is not None:
        run_profile(ctx)
    elif profile.shape == "stress":
        ctx.record.sections["stress"] = run_stress(ctx, ctx.out_dir, last_run=True)
    elif profile.shape == "sweep":
        run_sweep(ctx)
    elif profile.shape == "replay":
        run_replay(ctx)
    else:
        run_load(ctx)
