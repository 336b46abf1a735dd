"""sweep: synchronous, throughput, then open-model rates between.

The rules (rates, breakdown, runs not measured, the max rate under the SLOs) are
:mod:`agentload.metrics.sweep`; each rate is watched for over-saturation
(:mod:`agentload.run.phases.saturation_watch`): one the target cannot keep up with ends early,
is marked, and stops the sweep.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentload.errors import ConfigError
from agentload.metrics import sweep as rules
from agentload.metrics.saturation import saturation_finding
from agentload.results.reading import read_json, read_timeline
from agentload.results.summary import build_summary
from agentload.run.phases.drive import drive, plan_for, processes
from agentload.run.phases.saturation_watch import OverSaturationWatch
from agentload.scenarios.plan import user_class_name

if TYPE_CHECKING:
    from agentload.run.context import PhaseContext

log = logging.getLogger("agentload")


def run_sweep(ctx: PhaseContext) -> None:
    """A synchronous run, a throughput run (in the results folder itself: the summary's figures
    and the server-side view are its), then open-model rates between the two, each in
    ``sweep/NN-.../``; the summary's ``sweep`` section (see :mod:`agentload.metrics.sweep`)."""
    profile, api = ctx.profile, ctx.api_plan
    params = profile.sweep
    assert params is not None
    if api is None:
        raise ConfigError("sweep: needs an API description (--api), not --locustfile")
    scenario = api.open_model.scenario or api.active()[0].name
    entry, user_class, step = (
        api.entry_of(scenario),
        user_class_name(scenario),
        params.step_duration_s,
    )
    section: dict[str, Any] = {
        "scenario": scenario, "entry": entry, "step_duration_s": step, "slo": profile.slos,
        "goodput_target": params.goodput_target, "synchronous": None, "throughput": None,
        "rates": [], "stopped": None, "max_rate_under_slo": None,
    }  # fmt: skip
    ctx.record.sections["sweep"] = section
    ctx.record.planned_s = step  # the results folder's run is the throughput one

    def closed(folder: Path, users: int) -> dict[str, Any]:
        plan = plan_for(ctx, folder, users=users, spawn_rate=max(users, 1), run_time=step)
        plan = replace(plan, last_run=False)  # rates follow (the workers wait for them)
        drive(ctx, replace(plan, user_classes=(user_class,)), step)
        return _measured(ctx, folder, step)

    sync = rules.row("synchronous", None, closed(ctx.out_dir / "sweep" / "01-synchronous", 1),
                     scenario, entry)  # fmt: skip
    section["synchronous"] = sync
    log.info("sweep: synchronous %.2f req/s%s", sync["achieved_rate"] or 0.0, _unmeasured(sync))
    throughput = rules.row("throughput", None, closed(ctx.out_dir, profile.users), scenario, entry)
    section["throughput"] = throughput
    log.info("sweep: throughput %.2f req/s with %d users%s", throughput["achieved_rate"] or 0.0,
             profile.users, _unmeasured(throughput))  # fmt: skip
    unmeasured = next((r for r in (sync, throughput) if r["not_measured"]), None)
    rates = [] if unmeasured else rules.sweep_rates(
        float(sync["achieved_rate"] or 0.0), float(throughput["achieved_rate"] or 0.0),
        params.steps, params.max_rate_factor,
    )  # fmt: skip
    if unmeasured is not None:
        section["stopped"] = f"the {unmeasured['kind']} run was not measured: no rates between"
    elif not rates:
        section["stopped"] = "the throughput run was not faster than the synchronous one"
    for index, rate in enumerate(rates, start=3):
        folder = ctx.out_dir / "sweep" / f"{index:02d}-rate-{rate:g}"
        table = {
            "rate_per_s": rate, "arrival": params.arrival, "duration_s": step, "users": 0,
            "max_users": params.max_users, "max_lag_s": params.max_lag_s,
            "processes": processes(ctx),
        }  # fmt: skip
        plan = plan_for(ctx, folder, shape="open_model", shape_table=table)
        plan = replace(plan, user_classes=("OpenModelUser",), last_run=index == len(rates) + 2)
        watch = OverSaturationWatch.for_run(ctx, folder)  # ends a rate the target cannot keep up
        drive(ctx, plan, step, on_tick=watch.tick if watch is not None else None)
        evidence = watch.evidence if watch is not None else None
        held = evidence["held_s"] if evidence else step  # measured over what it ran
        rate_row = rules.row("rate", rate, _measured(ctx, folder, held), scenario, entry)
        rate_row["over_saturated"] = evidence
        section["rates"].append(rate_row)
        log.info("sweep: %g req/s asked, %.2f achieved, goodput %s%s", rate,
                 rate_row["achieved_rate"] or 0.0, rate_row["goodput"],
                 _unmeasured(rate_row))  # fmt: skip
        if evidence:
            section["stopped"] = f"{rate:g} req/s over-saturated: {saturation_finding(evidence)}"
            log.warning("sweep: stopping, the target no longer keeps up with %g req/s", rate)
            break
        if rate_row["not_measured"]:
            section["stopped"] = f"{rate:g} req/s was not measured"
            log.warning("sweep: stopping early, %g req/s was not measured", rate)
            break
        reason = rules.breakdown(rate_row, sync, params.max_error_rate, params.max_p95_factor)
        if reason is not None:
            section["stopped"] = f"broke down: {reason}"
            log.warning("sweep: stopping early, %s", reason)
            break
    measured = [sync, throughput, *section["rates"]]
    section["max_rate_under_slo"] = rules.max_rate_under_slo(measured, params.goodput_target)


def _measured(ctx: PhaseContext, folder: Path, planned_s: float) -> dict[str, Any]:
    """The summary figures of one Locust run's folder (no gates), and whether they are a
    measurement of a run of ``planned_s`` seconds (``not_measured``)."""
    return build_summary(
        phase=ctx.phase,
        started_at=ctx.started_at,
        target=ctx.target.url if ctx.target else "",
        final=read_json(folder / "final.json"),
        timeline=read_timeline(folder / "timeline.jsonl"),
        planned_s=planned_s,
    )


def _unmeasured(run: dict[str, Any]) -> str:
    """`` (not measured: why)`` for the log line of a run whose figures are not a measurement."""
    return f" (not measured: {run['not_measured']})" if run["not_measured"] else ""
