"""The phases' Locust runs, one module per phase, and the wait that watches them (``runs``).

smoke, load and rate (``load``): one run of the profile's shape (`none`, `stages` or the open
model). stress: the `stress` shape, its steps in `stress_steps.jsonl`, then the knee (or how far
it went without one: `not_saturated`) and what saturated first. profile: the load to hold (the
profile's `knee_users`/`--users`, else a stress run in `stress/`: its knee, or its largest step
when it found none), then a hold at that load while py-spy records the target;
`summary["profile"]` says where the users came from. sweep: synchronous, throughput, then
open-model rates between. `runs.drive()` is the wait: it stops on a signal, a dead target, a lost
worker (by policy), a hopeless gate (early abort) or the time bound, and always hands the Locust
processes to the orchestrator so `stop()` ends them by PID.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentload.run.phases.load import run_load
from agentload.run.phases.profile import run_profile
from agentload.run.phases.stress import run_stress
from agentload.run.phases.sweep import run_sweep

if TYPE_CHECKING:
    from agentload.run.orchestrator import Orchestrator


def run_phase(orch: Orchestrator) -> None:
    """Run the phase the profile describes."""
    profile = orch.profile
    if profile.profile is not None:
        run_profile(orch)
    elif profile.shape == "stress":
        orch.sections["stress"] = run_stress(orch, orch.out_dir, last_run=True)
    elif profile.shape == "sweep":
        run_sweep(orch)
    else:
        run_load(orch)
