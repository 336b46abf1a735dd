"""The Locust runs of a phase: their plan, and `drive()`, the wait that watches them.

`drive()` stops on a signal, a dead target, a lost worker (by policy), a hopeless gate (early
abort) or the time bound, and always hands the Locust processes to the orchestrator so `stop()`
ends them by PID.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from agentload.errors import ConfigError, RunAborted
from agentload.gates import evaluate, parse_gates, should_abort
from agentload.metrics.slo import to_option
from agentload.profiles.load import scenario_config_path
from agentload.results.reading import read_json, read_timeline
from agentload.results.summary import build_summary
from agentload.run.config import WorkerLossPolicy
from agentload.run.locust_plan import WORKERS_FILE, LocustPlan, build_commands
from agentload.run.locust_processes import LocustProcesses
from agentload.run.phases.send_window import with_window

if TYPE_CHECKING:
    from agentload.run.context import PhaseContext

log = logging.getLogger("agentload")


_MARGIN_S = 30.0


def processes(ctx: PhaseContext) -> int:
    """How many Locust processes run users (the open model divides its arrivals among them)."""
    return max(1, ctx.config.workers or ctx.config.expect_workers)


def plan_for(ctx: PhaseContext, out_dir: Path, **kwargs: Any) -> LocustPlan:
    cfg, profile = ctx.config, ctx.profile
    api = ctx.api_plan
    return LocustPlan(
        host=ctx.target.url if ctx.target else "",
        out_dir=out_dir,
        user_classes=cfg.user_classes if cfg.locustfile else tuple(profile.user_classes),
        scenario_config=scenario_config_path(profile) if api is not None else None,
        api=api.path if api is not None else None,
        phase=profile.phase,
        model=cfg.model or "",
        credentials=getattr(ctx.target, "credentials", ""),
        variables=dict(cfg.variables),
        slo=to_option(ctx.profile.slos),
        locustfile=ctx.user_locustfile,
        extra_args=cfg.locust_args,
        workers=cfg.workers,
        expect_workers=cfg.expect_workers,
        master_bind=cfg.master_bind,
        master_port=cfg.master_port,
        workers_timeout=cfg.workers_timeout,
        web=cfg.web,
        web_port=cfg.web_port,
        client_metrics_port=ctx.client_metrics_port,
        **kwargs,
    )


def drive(
    ctx: PhaseContext,
    plan: LocustPlan,
    expected_s: float,
    on_tick: Callable[[float], bool] | None = None,
) -> None:
    """Start Locust for `plan` and wait for its end; see the module docstring for what stops it."""
    if not plan.window:  # --warmup/--cooldown: the figures' window (a replay sets its own)
        plan = with_window(ctx, plan, expected_s)
    procs = LocustProcesses(build_commands(plan), ctx.out_dir / "runner.log")
    ctx.record.load_window.append(time.time())
    procs.start()
    ctx.adopt(procs, "locust", procs.pids)
    if plan.web:
        log.info("Locust web UI: http://127.0.0.1:%d (Ctrl-C here ends the run)", plan.web_port)
    start = time.monotonic()
    bound = None if plan.web else expected_s + _MARGIN_S + (15 if plan.workers else 0)
    if bound is not None and plan.expect_workers:
        bound += plan.workers_timeout
    watch = _Watch(ctx, plan)
    with _live_view(ctx, plan, expected_s):
        while procs.exit_code() is None:
            elapsed = time.monotonic() - start
            if plan.web and (signal_name := ctx.take_signal()) is not None:
                log.info("web UI run ended by %s", signal_name)
                break
            ctx.check()
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
    ctx.record.load_end = time.time()
    procs.stop()
    code = procs.exit_code()
    log.info("locust ended with exit code %s", code)
    watch.remote_workers(None)  # a refusal or a wait the master gave up, said after its end
    if not plan.web and not (plan.out_dir / "final.json").exists():
        said = _last_locust_line(ctx.out_dir / "runner.log")
        if code == 2 and said.startswith("agentload:"):
            raise ConfigError(said.removeprefix("agentload:").strip())
        raise RunAborted(f"locust ended (exit code {code}) without its final stats: {said}")


class _Watch:
    """The periodic checks of `drive`: remote target reachability, lost workers (local ones by
    PID, remote ones through the master's workers.json), early abort."""

    def __init__(self, ctx: PhaseContext, plan: LocustPlan) -> None:
        self.ctx, self.plan = ctx, plan
        abort = ctx.profile.abort
        self.abort = abort
        self.abort_gates = parse_gates(abort.gates or ctx.profile.gates) if abort else []
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
        if self.ctx.config.host is None or time.monotonic() < self.next_probe:
            return
        self.next_probe = time.monotonic() + 2.0
        path = getattr(self.ctx.target, "ready_path", None) or ""
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
            seen = self.ctx.record.remote_workers.setdefault(
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
        self.ctx.record.lost_workers.append(lost)
        if self.ctx.config.on_worker_loss is WorkerLossPolicy.FAIL:
            raise RunAborted(f"{message}; --on-worker-loss fail")
        log.warning("%s; continuing with the other workers (--on-worker-loss continue)", message)
        self.ctx.record.notes.append(message)

    def gates(self, timeline: Path, elapsed: float) -> str | None:
        """Early abort (k6 abortOnFail): the reason when an abort gate fails after the grace."""
        if self.abort is None or elapsed < self.next_gate_check:
            return None
        self.next_gate_check = elapsed + max(1.0, self.abort.interval_s)
        lines = read_timeline(timeline)
        if not lines:
            return None
        interim = build_summary(
            phase=self.ctx.phase,
            started_at=self.ctx.started_at,
            target=self.plan.host,
            timeline=lines,
            abort_reason="mid-run check",
        )
        results = evaluate(self.abort_gates, interim, strict=False)
        reason = should_abort(results, elapsed, self.abort.grace_s)
        if reason:
            log.error("early abort: %s", reason)
            self.ctx.record.gate_abort = reason
        return reason


def _live_view(
    ctx: PhaseContext, plan: LocustPlan, expected_s: float
) -> AbstractContextManager[Any]:
    if plan.web:
        return nullcontext()
    try:
        from agentload.run.console import LiveConsole
    except ImportError:
        return nullcontext()
    return LiveConsole(plan.out_dir / "timeline.jsonl", phase=ctx.phase, duration_s=expected_s)


def _last_locust_line(path: Path) -> str:
    """The last line Locust wrote to runner.log (the runner's own lines left out)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "see runner.log"
    theirs = [ln.strip() for ln in lines if ln.strip() and " agentload " not in ln]
    return theirs[-1][-300:] if theirs else "see runner.log"
