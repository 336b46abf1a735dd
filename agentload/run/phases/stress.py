"""stress: growing steps in `stress_steps.jsonl`, then the knee (or how far it went without
one: `not_saturated`) and what saturated first.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentload.metrics.knee import Step, find_knee, stress_section
from agentload.results.reading import read_jsonl
from agentload.run.phases.drive import drive, plan_for
from agentload.run.resources import read_samples, saturated_first

if TYPE_CHECKING:
    from agentload.run.context import PhaseContext

log = logging.getLogger("agentload")


STEPS_FILE = "stress_steps.jsonl"


def run_stress(ctx: PhaseContext, out_dir: Path, last_run: bool) -> dict[str, Any]:
    """Growing steps until the stop criteria; the summary's `stress` section."""
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = ctx.profile
    steps_path = (out_dir / STEPS_FILE).absolute()  # read by the shape in Locust
    table = {**profile.shape_table(), "steps_path": str(steps_path)}
    if "stress" not in table and profile.stress is not None:
        table["stress"] = profile.stress.model_dump()
    params = table["stress"]
    total = float(params["step_duration_s"]) * int(params["max_steps"])
    started = time.time()
    try:
        plan = plan_for(ctx, out_dir, shape="stress", shape_table=table, last_run=last_run)
        drive(ctx, plan, total)
    finally:
        ctx.record.sections["stress"] = stress_result(ctx, steps_path, started, params)
    return dict(ctx.record.sections["stress"])


def stress_result(
    ctx: PhaseContext, steps_path: Path, started: float, params: dict[str, Any]
) -> dict[str, Any]:
    """Steps, knee (or `not_saturated`), stop reason and what saturated first (also for an
    interrupted run); `params` are the stop criteria the steps ran under."""
    rows = read_jsonl(steps_path)
    steps = [
        Step(
            users=int(r["users"]),
            rps=float(r["rps"]),
            p95_ms=float(r["p95_ms"]) if r.get("p95_ms") is not None else float("nan"),
            error_rate=float(r["error_rate"]),
        )
        for r in rows
    ]
    reason = next((r["stop_reason"] for r in reversed(rows) if r.get("stop_reason")), None)
    if reason is None:
        reason = "stopped before the stop criteria were met" if rows else "no complete step"
    samples = [
        s for s in read_samples(ctx.out_dir / "resources.jsonl") if s.get("ts", 0) >= started
    ]
    first = saturated_first(samples)
    saturated = f"{first['resource']}: {first['detail']}" if first else None
    knee = find_knee(steps, min_rps_gain=float(params.get("min_rps_gain", 0.05)))
    section = stress_section(steps, knee, reason, saturated, params)
    section["steps_file"] = str(steps_path.relative_to(ctx.out_dir))
    return section
