"""The phases' Locust runs and the wait that watches them.

smoke/load: one run of the profile's shape (`none` or `stages`). stress: the `stress` shape, its
steps in `stress_steps.jsonl`, then the knee (or how far it went without one: `not_saturated`) and
what saturated first. profile: the load to hold (the profile's `knee_users`/`--users`, else a
stress run in `stress/`: its knee, or its largest step when it found none), then a hold at that
load while py-spy records the target; `summary["profile"]` says where the users came from.
`drive()` is the wait: it stops on a signal, a dead target, a lost worker (by policy), a hopeless
gate (early abort) or the time bound, and always hands the Locust processes to the orchestrator
so `stop()` ends them by PID.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from agentload import sweep
from agentload.apis.plan import user_class_name
from agentload.config import WorkerLossPolicy
from agentload.errors import ConfigError, RunAborted
from agentload.gates import evaluate, parse_gates, should_abort
from agentload.knee import Step, find_knee, no_knee_finding, stress_section
from agentload.locust_runner import (
    WORKERS_FILE,
    LocustPlan,
    LocustProcesses,
    build_commands,
)
from agentload.profiler import ProfileError, PySpy
from agentload.profiles import scenario_config_path
from agentload.resources import read_samples, saturated_first
from agentload.slo import to_option
from agentload.stats import read_json, read_jsonl, read_timeline
from agentload.summary import build_summary

if TYPE_CHECKING:
    from agentload.orchestrator import Orchestrator

log = logging.getLogger("agentload")
STEPS_FILE = "stress_steps.jsonl"
_MARGIN_S = 30.0


def _processes(orch: Orchestrator) -> int:
    """How many Locust processes run users (the open model divides its arrivals among them)."""
    return max(1, orch.config.workers or orch.config.expect_workers)


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


def _plan(orch: Orchestrator, out_dir: Path, **kwargs: Any) -> LocustPlan:
    cfg, profile = orch.config, orch.profile
    api = orch.api_plan
    return LocustPlan(
        host=orch.target.url if orch.target else "",
        out_dir=out_dir,
        user_classes=cfg.user_classes if cfg.locustfile else tuple(profile.user_classes),
        scenario_config=scenario_config_path(profile) if api is not None else None,
        api=api.path if api is not None else None,
        phase=profile.phase,
        model=cfg.model or "",
        slo=to_option(orch.profile.slos),
        locustfile=orch.user_locustfile,
        extra_args=cfg.locust_args,
        workers=cfg.workers,
        expect_workers=cfg.expect_workers,
        master_bind=cfg.master_bind,
        master_port=cfg.master_port,
        workers_timeout=cfg.workers_timeout,
        web=cfg.web,
        web_port=cfg.web_port,
        client_metrics_port=orch.client_metrics_port,
        **kwargs,
    )


def run_load(orch: Orchestrator) -> None:
    """smoke, load and rate: the profile's stage table, its users for its duration, or (rate)
    the open model's arrivals for its duration."""
    profile = orch.profile
    if profile.shape == "open_model":
        if orch.user_locustfile is not None:
            raise ConfigError(
                f"{profile.phase}: the open model paces agentload's OpenModelUser; with "
                "--locustfile use a closed-loop phase (smoke, load, stress, profile)"
            )
        total = profile.duration_s
        table = {**profile.shape_table(), "processes": _processes(orch)}
        plan = _plan(orch, orch.out_dir, shape="open_model", shape_table=table)
    elif profile.shape == "stages":
        table = profile.shape_table()
        total = sum(float(s["duration"]) for s in table["stages"])
        plan = _plan(orch, orch.out_dir, shape="stages", shape_table=table)
    else:
        total = profile.duration_s
        plan = _plan(
            orch, orch.out_dir, users=profile.users, spawn_rate=profile.spawn_rate, run_time=total
        )
    drive(orch, plan, total)


def run_stress(orch: Orchestrator, out_dir: Path, last_run: bool) -> dict[str, Any]:
    """Growing steps until the stop criteria; the summary's `stress` section."""
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = orch.profile
    steps_path = (out_dir / STEPS_FILE).absolute()  # read by the shape in Locust
    table = {**profile.shape_table(), "steps_path": str(steps_path)}
    if "stress" not in table and profile.stress is not None:
        table["stress"] = profile.stress.model_dump()
    params = table["stress"]
    total = float(params["step_duration_s"]) * int(params["max_steps"])
    started = time.time()
    try:
        plan = _plan(orch, out_dir, shape="stress", shape_table=table, last_run=last_run)
        drive(orch, plan, total)
    finally:
        orch.sections["stress"] = stress_result(orch, steps_path, started, params)
    return dict(orch.sections["stress"])


def stress_result(
    orch: Orchestrator, steps_path: Path, started: float, params: dict[str, Any]
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
        s for s in read_samples(orch.out_dir / "resources.jsonl") if s.get("ts", 0) >= started
    ]
    first = saturated_first(samples)
    saturated = f"{first['resource']}: {first['detail']}" if first else None
    knee = find_knee(steps, min_rps_gain=float(params.get("min_rps_gain", 0.05)))
    section = stress_section(steps, knee, reason, saturated, params)
    section["steps_file"] = str(steps_path.relative_to(orch.out_dir))
    return section


def run_sweep(orch: Orchestrator) -> None:
    """A synchronous run, a throughput run (in the results folder itself: the summary's figures
    and the server-side view are its), then open-model rates between the two, each in
    ``sweep/NN-.../``; the summary's ``sweep`` section (see :mod:`agentload.sweep`)."""
    profile, api = orch.profile, orch.api_plan
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
    orch.sections["sweep"] = section

    def closed(folder: Path, users: int) -> dict[str, Any]:
        plan = _plan(orch, folder, users=users, spawn_rate=max(users, 1), run_time=step)
        plan = replace(plan, last_run=False)  # rates follow (the workers wait for them)
        drive(orch, replace(plan, user_classes=(user_class,)), step)
        return _measured(orch, folder)

    sync = sweep.row("synchronous", None, closed(orch.out_dir / "sweep" / "01-synchronous", 1),
                     scenario, entry)  # fmt: skip
    section["synchronous"] = sync
    log.info("sweep: synchronous %.2f req/s", sync["achieved_rate"] or 0.0)
    throughput = sweep.row("throughput", None, closed(orch.out_dir, profile.users), scenario, entry)
    section["throughput"] = throughput
    log.info("sweep: throughput %.2f req/s with %d users", throughput["achieved_rate"] or 0.0,
             profile.users)  # fmt: skip
    rates = sweep.sweep_rates(
        float(sync["achieved_rate"] or 0.0), float(throughput["achieved_rate"] or 0.0), params.steps
    )
    if not rates:
        section["stopped"] = "the throughput run was not faster than the synchronous one"
    for index, rate in enumerate(rates, start=3):
        folder = orch.out_dir / "sweep" / f"{index:02d}-rate-{rate:g}"
        table = {
            "rate_per_s": rate, "arrival": params.arrival, "duration_s": step, "users": 0,
            "max_users": params.max_users, "max_lag_s": params.max_lag_s,
            "processes": _processes(orch),
        }  # fmt: skip
        plan = _plan(orch, folder, shape="open_model", shape_table=table)
        plan = replace(plan, user_classes=("OpenModelUser",), last_run=index == len(rates) + 2)
        drive(orch, plan, step)
        rate_row = sweep.row("rate", rate, _measured(orch, folder), scenario, entry)
        section["rates"].append(rate_row)
        log.info("sweep: %g req/s asked, %.2f achieved, goodput %s", rate,
                 rate_row["achieved_rate"] or 0.0, rate_row["goodput"])  # fmt: skip
        reason = sweep.breakdown(rate_row, sync, params.max_error_rate, params.max_p95_factor)
        if reason is not None:
            section["stopped"] = f"broke down: {reason}"
            log.warning("sweep: stopping early, %s", reason)
            break
    measured = [sync, throughput, *section["rates"]]
    section["max_rate_under_slo"] = sweep.max_rate_under_slo(measured, params.goodput_target)


def _measured(orch: Orchestrator, folder: Path) -> dict[str, Any]:
    """The summary figures of one Locust run's folder (no gates)."""
    return build_summary(
        phase=orch.phase,
        started_at=orch.started_at,
        target=orch.target.url if orch.target else "",
        final=read_json(folder / "final.json"),
        timeline=read_timeline(folder / "timeline.jsonl"),
    )


def run_profile(orch: Orchestrator) -> None:
    """Find (or take) the knee, hold it, and record the target with py-spy meanwhile."""
    params = orch.profile.profile
    assert params is not None
    users, users_from = params.knee_users, "given"
    if users is None:
        users, users_from = _users_to_hold(
            orch, run_stress(orch, orch.out_dir / "stress", last_run=False)
        )
    pid = orch.target.pids.get("supervisor") if orch.target else None
    pid = orch.config.pid or pid
    hold = params.warmup_s + params.hold_s
    spy: PySpy | None = None
    result: dict[str, Any] = {"users": users, "users_from": users_from}

    def on_tick(elapsed: float) -> bool:
        nonlocal spy
        if pid is None:
            return False
        if spy is None and elapsed >= params.warmup_s:
            spy = PySpy(pid, params.hold_s, orch.out_dir, rate=params.rate_hz)
            orch.children.append(spy)
            spy.start()
            orch.track("py-spy", spy.pids)
            log.info("profile: py-spy recording pid %s for %gs", pid, params.hold_s)
        return spy is not None and not spy.running()

    plan = _plan(orch, orch.out_dir, users=users, spawn_rate=orch.profile.spawn_rate, run_time=hold)
    completed = False
    try:
        drive(orch, plan, hold + 10, on_tick)
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
            orch.notes.append(f"profile: {result['error']}")
        orch.sections["profile"] = result


def _users_to_hold(orch: Orchestrator, stress: dict[str, Any]) -> tuple[int, str]:
    """The stress run's knee, else its largest step (said in orch.notes and the log):
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
    orch.notes.append(note)
    return users, "not_saturated" if stress.get("not_saturated") else "largest_step"


def drive(
    orch: Orchestrator,
    plan: LocustPlan,
    expected_s: float,
    on_tick: Callable[[float], bool] | None = None,
) -> None:
    """Start Locust for `plan` and wait for its end; see the module docstring for what stops it."""
    procs = LocustProcesses(build_commands(plan), orch.out_dir / "runner.log")
    orch.children.append(procs)
    orch.load_window.append(time.time())
    procs.start()
    orch.track("locust", procs.pids)
    if plan.web:
        log.info("Locust web UI: http://127.0.0.1:%d (Ctrl-C here ends the run)", plan.web_port)
    start = time.monotonic()
    bound = None if plan.web else expected_s + _MARGIN_S + (15 if plan.workers else 0)
    if bound is not None and plan.expect_workers:
        bound += plan.workers_timeout
    watch = _Watch(orch, plan)
    with _live_view(orch, plan, expected_s):
        while procs.exit_code() is None:
            elapsed = time.monotonic() - start
            if plan.web and orch.signal_name is not None:
                log.info("web UI run ended by %s", orch.signal_name)
                orch.signal_name = None
                break
            orch.check()
            watch.target()
            for lost in procs.newly_lost_workers():
                watch.worker_lost(lost)
            watch.remote_workers(elapsed)
            if watch.gates(plan.out_dir / "timeline.jsonl", elapsed):
                break
            if on_tick is not None and on_tick(elapsed):
                break
            if bound is not None and elapsed > bound:
                log.warning(
                    "locust still running %.0fs after the expected end: stopping it", elapsed
                )
                break
            time.sleep(0.25)
    orch.load_end = time.time()
    procs.stop()
    code = procs.exit_code()
    log.info("locust ended with exit code %s", code)
    watch.remote_workers(None)  # a refusal or a wait the master gave up, said after its end
    if not plan.web and not (plan.out_dir / "final.json").exists():
        said = _last_locust_line(orch.out_dir / "runner.log")
        if code == 2 and said.startswith("agentload:"):
            raise ConfigError(said.removeprefix("agentload:").strip())
        raise RunAborted(f"locust ended (exit code {code}) without its final stats: {said}")


class _Watch:
    """The periodic checks of `drive`: remote target reachability, lost workers (local ones by
    PID, remote ones through the master's workers.json), early abort."""

    def __init__(self, orch: Orchestrator, plan: LocustPlan) -> None:
        self.orch, self.plan = orch, plan
        abort = orch.profile.abort
        self.abort = abort
        self.abort_gates = parse_gates(abort.gates or orch.profile.gates) if abort else []
        self.next_gate_check = abort.grace_s if abort else float("inf")
        self.next_probe = 0.0
        self.probe_failures = 0
        self.all_joined = False
        self.joined_ids: set[Any] = set()
        self.lost_seen = 0

    def target(self) -> None:
        """A remote target: three failed probes in a row (2 s apart) of its readiness path (the
        description's; none: its root) abort the run. Only an unreachable target counts, not
        the status it answers."""
        if self.orch.config.host is None or time.monotonic() < self.next_probe:
            return
        self.next_probe = time.monotonic() + 2.0
        path = getattr(self.orch.target, "ready_path", None) or ""
        try:
            httpx.get(f"{self.plan.host}{path}", timeout=2.0)
            self.probe_failures = 0
        except httpx.HTTPError as exc:
            self.probe_failures += 1
            if self.probe_failures >= 3:
                problem = f"target {self.plan.host} unreachable: {type(exc).__name__}"
                raise RunAborted(problem) from None

    def remote_workers(self, elapsed: float | None) -> None:
        """`--expect-workers`: the master's workers.json. A refused worker is a configuration
        error; fewer than expected after `--workers-timeout` (or at the end: None) aborts; a
        joined worker that went missing or left is lost (by policy)."""
        plan = self.plan
        if not plan.expect_workers:
            return
        data = read_json(plan.out_dir / WORKERS_FILE) or {}
        for refused in data.get("refused") or []:
            raise ConfigError(
                f"worker {refused.get('id')} refused: {refused.get('reason')} (start every "
                "worker with the master's --api, --scenario-config and --model)"
            )
        joined = data.get("joined") or []
        for who in joined:
            seen = self.orch.remote_workers.setdefault(
                str(who.get("id")), {k: who.get(k) for k in ("id", "host", "pid")} | {"runs": 0}
            )
            if who.get("locust_id") not in self.joined_ids:
                self.joined_ids.add(who.get("locust_id"))
                seen["runs"] += 1
        if not self.all_joined:
            if len(joined) >= plan.expect_workers:
                self.all_joined = True
                log.info("%d of %d workers connected", len(joined), plan.expect_workers)
            elif elapsed is None or elapsed > plan.workers_timeout:
                raise RunAborted(
                    f"{len(joined)} of {plan.expect_workers} workers connected within "
                    f"{plan.workers_timeout:g}s (master on {plan.master_bind}:{plan.master_port})"
                )
        for lost in (data.get("lost") or [])[self.lost_seen :]:
            self.lost_seen += 1
            message = f"locust worker {lost.get('id')} on {lost.get('host')} lost ({lost['state']})"
            self.worker_lost({k: lost.get(k) for k in ("id", "host", "pid", "state")}, message)

    def worker_lost(self, lost: dict[str, Any], message: str | None = None) -> None:
        if message is None:
            message = f"locust worker pid {lost['pid']} died (exit code {lost['exit_code']})"
        self.orch.lost_workers.append(lost)
        if self.orch.config.on_worker_loss is WorkerLossPolicy.FAIL:
            raise RunAborted(f"{message}; --on-worker-loss fail")
        log.warning("%s; continuing with the other workers (--on-worker-loss continue)", message)
        self.orch.notes.append(message)

    def gates(self, timeline: Path, elapsed: float) -> str | None:
        """Early abort (k6 abortOnFail): the reason when an abort gate fails after the grace."""
        if self.abort is None or elapsed < self.next_gate_check:
            return None
        self.next_gate_check = elapsed + max(1.0, self.abort.interval_s)
        lines = read_timeline(timeline)
        if not lines:
            return None
        interim = build_summary(
            phase=self.orch.phase,
            started_at=self.orch.started_at,
            target=self.plan.host,
            timeline=lines,
            abort_reason="mid-run check",
        )
        results = evaluate(self.abort_gates, interim, strict=False)
        reason = should_abort(results, elapsed, self.abort.grace_s)
        if reason:
            log.error("early abort: %s", reason)
            self.orch.gate_abort = reason
        return reason


def _live_view(
    orch: Orchestrator, plan: LocustPlan, expected_s: float
) -> AbstractContextManager[Any]:
    if plan.web:
        return nullcontext()
    try:
        from agentload.console import LiveConsole
    except ImportError:
        return nullcontext()
    return LiveConsole(plan.out_dir / "timeline.jsonl", phase=orch.phase, duration_s=expected_s)


def _last_locust_line(path: Path) -> str:
    """The last line Locust wrote to runner.log (the runner's own lines left out)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "see runner.log"
    theirs = [ln.strip() for ln in lines if ln.strip() and " agentload " not in ln]
    return theirs[-1][-300:] if theirs else "see runner.log"
