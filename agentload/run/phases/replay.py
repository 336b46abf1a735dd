"""replay: a trace, each row one call at its time (the Locust side paces it, ``ReplayShape``).

``check_replay(config, profile, api_plan)`` runs before any load (ConfigError, exit 2): ``--trace``
belongs to the replay phase, which needs it; ``--speed`` and ``--max-duration`` override the
profile's ``[replay]``; the trace is read and checked (its format, every row, the scenarios it
names: :mod:`agentload.scenarios.traces`) and scheduled, which gives summary.json's
``replay.trace``. ``run_replay(ctx)`` is one Locust run of the replay shape and ``ReplayUser``,
bounded by the schedule's end plus the longest call a scenario may make, at most
``--max-duration``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from agentload.durations import parse_duration
from agentload.errors import ConfigError
from agentload.profiles.model import Profile
from agentload.run.config import RunConfig
from agentload.run.phases.drive import drive, plan_for, processes
from agentload.run.phases.send_window import with_window
from agentload.scenarios.plan import ApiPlan
from agentload.scenarios.replay import check_scenarios, describe, schedule
from agentload.scenarios.traces import load_trace

if TYPE_CHECKING:
    from agentload.run.context import PhaseContext

log = logging.getLogger("agentload")

SECTION = "replay"
_LEAD_S = 3.0  # the pool's spawn before the schedule's origin, and Locust's start


def check_replay(config: RunConfig, profile: Profile, api: ApiPlan | None) -> dict[str, Any]:
    """The replay's checks before any load; ``{"replay": {"trace": ...}}`` for the record (empty
    for another phase)."""
    params = profile.replay
    given = [name for name, value in (("--trace", config.trace), ("--speed", config.speed),
             ("--max-duration", config.max_duration)) if value is not None]  # fmt: skip
    if profile.shape != "replay" or params is None:
        if given:
            raise ConfigError(
                f"{given[0]}: phase {profile.phase!r} does not replay a trace, expected "
                "agentload run replay --trace FILE"
            )
        return {}
    if config.trace is None:
        raise ConfigError(
            "replay: --trace FILE is required (Mooncake JSONL, Azure LLM inference CSV or a "
            "past run's requests.jsonl.gz)"
        )
    if config.duration is not None:
        raise ConfigError("--duration: replay runs for its trace; bound it with --max-duration")
    if api is None:
        raise ConfigError("replay: paces agentload's ReplayUser; not with --locustfile")
    if config.expect_workers:
        raise ConfigError(
            "replay: every Locust process reads the trace, so the workers must be on this "
            "machine: use --workers N, not --expect-workers"
        )
    speed = config.speed if config.speed is not None else params.speed
    bound = params.max_duration_s
    if config.max_duration is not None:
        bound = parse_duration(config.max_duration, what="--max-duration")
        if bound <= 0:
            raise ConfigError(f"--max-duration: got {config.max_duration!r}, expected above 0")
    trace = load_trace(config.trace.absolute())
    check_scenarios(trace, list(api.scenarios))
    items = schedule(trace, speed, bound)
    return {SECTION: {"trace": describe(trace, items, speed, bound)}}


def run_replay(ctx: PhaseContext) -> None:
    """One Locust run of the replay shape over the checked trace."""
    api, params = ctx.api_plan, ctx.profile.replay
    assert api is not None and params is not None
    trace = ctx.record.sections[SECTION]["trace"]
    end = min(trace["span_s"] / trace["speed"], trace["max_duration_s"])
    longest = max(sc.timeout_s for sc in api.scenarios.values())
    bound = min(end + longest, trace["max_duration_s"])
    if trace["past_max_duration"]:
        log.warning(
            "replay: %d of %d rows are due after --max-duration %gs: left out",
            trace["past_max_duration"], trace["rows"], trace["max_duration_s"],
        )  # fmt: skip
    log.info(
        "replay: %s (%s), %d rows over %.1fs at speed %g",
        trace["file"], trace["format"], trace["scheduled"], end, trace["speed"],
    )  # fmt: skip
    table = {
        "trace": str(trace["path"]), "speed": trace["speed"],
        "max_duration_s": trace["max_duration_s"], "max_lag_s": params.max_lag_s,
        "users": params.users, "max_users": params.max_users, "processes": processes(ctx),
        "expected_latency_s": api.open_model.expected_latency_s,
    }  # fmt: skip
    plan = plan_for(ctx, ctx.out_dir, shape="replay", shape_table=table)
    plan = with_window(ctx, plan, end)  # --warmup/--cooldown: of the trace, from its first row
    ctx.record.planned_s = end  # summary.json's not_measured
    drive(ctx, plan, _LEAD_S + max(bound, end))
