"""One phase run: start the target, drive Locust, watch for trouble, stop everything, summarize.

`agentload.run.execute.execute(config)` is the whole run; `Orchestrator` does it in explicit
steps: `prepare()` (profile, gates, `--host` check, results folder), `start()` (target, resource
sampler, Prometheus: `agentload.run.server_view`), `run()` (the phase's Locust runs; see
`agentload.run.phases`, which receive the orchestrator as a `PhaseContext`), `stop()` (every
child by PID, idempotent) and `finish()` (summary.json, junit.xml, report; the last console
lines: `agentload.run.finish`). SIGINT/SIGTERM only set a flag that the waits check, so a stop
always goes through `stop()` and keeps the partial results.
"""

from __future__ import annotations

import logging
import os
import signal
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from agentload.apis.load import DEFAULT_API, load_description
from agentload.errors import ConfigError, ExitCode, RunAborted
from agentload.gates import Gate, check_entries, parse_gates
from agentload.profiles.load import load_profile, scenario_config_path
from agentload.profiles.model import Profile, check_worker_steps
from agentload.profiles.overrides import apply_overrides
from agentload.redaction import split_userinfo
from agentload.run.config import RunConfig, make_out_dir
from agentload.run.context import PhaseRecord, Stoppable
from agentload.run.finish import finish_run
from agentload.run.locust_plan import check_locust_args, check_locustfile
from agentload.run.phases import run_phase
from agentload.run.phases.replay import check_replay
from agentload.run.phases.send_window import check_window
from agentload.run.phases.until_watch import check_until
from agentload.run.resources import ResourceSampler
from agentload.run.run_log import RunLogHandler, ThreadWriteGuard
from agentload.run.server_view import ServerView
from agentload.run.target import EmbeddedTarget, RemoteTarget, check_host
from agentload.scenarios.config import load_scenario_config
from agentload.scenarios.plan import ApiPlan, resolve
from agentload.stock.lookup import find

log = logging.getLogger("agentload")


class Orchestrator:
    """Owns one run's processes and files; see the module docstring for the order of calls."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.started_at = datetime.now(UTC)
        self.profile: Profile
        self.phase = config.phase
        self.gates: list[Gate] = []
        self.allow_inconclusive = config.allow_inconclusive  # or the profile's, once loaded
        self.api_plan: ApiPlan | None = None
        self.user_locustfile: Path | None = None
        self.out_dir = Path()
        self.target: EmbeddedTarget | RemoteTarget | None = None
        self.sampler: ResourceSampler | None = None
        self.server_view = ServerView()  # Prometheus: started with the target, queried at the end
        self.pids: dict[str, list[int]] = {"runner": [os.getpid()]}
        self.children: list[Stoppable] = []
        self.signal_name: str | None = None
        self.abort_reason: str | None = None
        self.config_error: str | None = None
        self.regression = False
        self.record = PhaseRecord()  # what the phases find
        self._stopped = False
        self._log_file: RunLogHandler | None = None
        self.thread_guard = ThreadWriteGuard({})
        self.late_write_errors: list[str] = []  # results files that could not be written

    # -- prepare ---------------------------------------------------------------------------
    def prepare(self) -> None:
        """Load the profile and gates (their entries against the plan's), check `--host` and the
        Locust options after `--`, create the results folder. ConfigError."""
        cfg = self.config
        base = load_profile(cfg.phase)
        overrides: dict[str, Any] = {
            "spawn_rate": cfg.spawn_rate,
            "gates": list(cfg.gates),
            "rate": cfg.rate,
            "arrival": cfg.arrival,
            "slo": list(cfg.slo),
            "steps": cfg.steps,
            "step_duration": cfg.step_duration,
        }
        if base.profile is None:
            overrides.update(users=cfg.users, duration=cfg.duration)
        self.profile = apply_overrides(base, overrides)
        if base.profile is not None:
            self.profile = _profile_overrides(self.profile, cfg)
        if cfg.scenario_config is not None:
            scenario = str(find("scenarios", str(cfg.scenario_config)).resolve())
            self.profile = self.profile.model_copy(update={"scenario_config": scenario})
        self.phase = self.profile.phase
        self._prepare_api()
        check_worker_steps(self.profile, cfg.workers or cfg.expect_workers)
        extra = list(self.api_plan.gates) if self.api_plan is not None else []
        self.gates = parse_gates([*self.profile.gates, *extra])
        self.allow_inconclusive = cfg.allow_inconclusive or self.profile.allow_inconclusive
        if self.api_plan is not None:  # a locustfile of your own: its entries are not known
            plan, abort = self.api_plan, self.profile.abort
            gates = [*self.gates, *parse_gates(abort.gates if abort else [])]
            check_entries(gates, plan.entries(), list(plan.scenarios))
        check_until(cfg, self.profile, self.api_plan)  # --until: the phase, the entries
        check_window(cfg, self.profile)  # --warmup, --cooldown
        self.record.sections.update(check_replay(cfg, self.profile, self.api_plan))  # --trace
        if cfg.host is not None:
            check_host(cfg.host, cfg.allow_remote)
        if cfg.workers and cfg.web:
            raise ConfigError("--web and --workers cannot be combined; use one or the other")
        if cfg.expect_workers and cfg.web:
            raise ConfigError("--web and --expect-workers cannot be combined; use one or the other")
        if cfg.locust_args:
            api = self.api_plan.path if self.api_plan is not None else None
            check_locust_args(cfg.locust_args, self.user_locustfile, api)
        self.out_dir = make_out_dir(cfg, self.started_at, self.phase)
        handler = RunLogHandler(self.out_dir / "runner.log")
        handler.setFormatter(logging.Formatter("%(asctime)s agentload %(levelname)s %(message)s"))
        handler.setLevel(logging.DEBUG)
        log.addHandler(handler)
        self._log_file = handler
        log.info("phase %s, results in %s", self.phase, self.out_dir)
        self.thread_guard = ThreadWriteGuard({"resources": self.out_dir / "resources.jsonl"})

    def _prepare_api(self) -> None:
        """Resolve the API description (or check the user's locustfile) before any load; set
        the stress entry. ConfigError naming the file and field."""
        cfg, profile = self.config, self.profile
        entry = cfg.entry
        if cfg.locustfile is not None:
            self.user_locustfile = check_locustfile(cfg.locustfile, cfg.user_classes)
            if profile.stress is not None and not (entry or profile.stress.entry):
                raise ConfigError(
                    f"the {profile.phase} phase with --locustfile needs --entry, the entry whose "
                    'throughput finds the knee, e.g. --entry "POST /ask"'
                )
        else:
            description, path = load_description(cfg.api or DEFAULT_API)
            scenario_config = load_scenario_config(scenario_config_path(profile))
            self.api_plan = resolve(
                description, path, phase=profile.phase, scenario_config=scenario_config,
                model=cfg.model, variables=cfg.variables,
            )  # fmt: skip
            self.api_plan.auth_headers()  # a missing secret stops here
            entry = entry or (profile.stress.entry if profile.stress else None)
            entry = entry or self.api_plan.entry_of(None)
        if profile.stress is not None and entry:
            stress = profile.stress.model_copy(update={"entry": entry})
            self.profile = profile.model_copy(update={"stress": stress})

    def close_log(self) -> None:
        """Stop writing runner.log (the run is over)."""
        if self._log_file is not None:
            log.removeHandler(self._log_file)
            self._log_file.close()

    def write_errors(self) -> list[str]:
        """The runner's own writes that failed (disk full), one line each, first first."""
        found = [self._log_file.error if self._log_file else None, self.thread_guard.error]
        return [e for e in found if e] + self.late_write_errors

    def adopt(self, child: Stoppable, name: str, pids: list[int]) -> None:
        """A child that `stop()` ends (Locust processes, py-spy), and its PIDs."""
        self.children.append(child)
        self.track(name, pids)

    def take_signal(self) -> str | None:
        """The signal that arrived, forgotten once taken (a web UI run ends on it)."""
        name, self.signal_name = self.signal_name, None
        return name

    def track(self, name: str, pids: list[int]) -> None:
        """Remember child PIDs (summary meta, runner.log) so a drill can check they are gone."""
        self.pids.setdefault(name, []).extend(pids)
        log.debug("pids %s: %s", name, " ".join(map(str, pids)))

    # -- signals ---------------------------------------------------------------------------
    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.signal_name is None:
            self.signal_name = name
            log.warning("got %s: stopping the run, keeping what was measured", name)

    def check(self) -> None:
        """Raise RunAborted if a signal arrived or the target is gone (called by every wait)."""
        if self.signal_name is not None:
            raise RunAborted(f"interrupted by {self.signal_name}")
        failed = self.write_errors()
        if failed:  # a full disk: measuring on without keeping the results is pointless
            raise RunAborted(failed[0])
        if self.target is not None:
            problem = self.target.problem()
            if problem:
                raise RunAborted(problem)

    # -- start -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start (or check) the target, then the resource sampler and Prometheus."""
        cfg = self.config
        if cfg.host is not None:
            url, credentials = split_userinfo(check_host(cfg.host, cfg.allow_remote))
            self.target = RemoteTarget(url, credentials=credentials)
            if self.api_plan is not None:  # else (a locustfile): ready when the port accepts
                readiness = self.api_plan.description.readiness
                self.target.ready_path = readiness.path or None
                self.target.ready_status = readiness.status
            log.info("target %s (not started by agentload)", self.target.url)
        else:
            env = {"AGENT_DB_PATH": str(self.out_dir / "target-jobs.sqlite")}
            self.target = EmbeddedTarget(self.out_dir / "target.log", env)
            log.info("starting the embedded target service")
        self.target.start(cfg.ready_timeout, self._signalled)
        log.info("target ready at %s", self.target.url)
        for name, pid in self.target.pids.items():
            self.track(f"target {name}", [pid])
        if isinstance(self.target, EmbeddedTarget):
            self.sampler = ResourceSampler(
                self.out_dir / "resources.jsonl", self._target_pids, self.target.engine_url
            )
            self.sampler.start()
        self.server_view.start(cfg, self.out_dir, self.target, self.track, self.record.notes)

    def _signalled(self) -> str | None:
        return f"interrupted by {self.signal_name}" if self.signal_name else None

    def _target_pids(self) -> dict[str, int]:
        return dict(self.target.pids) if self.target is not None else {}

    @property
    def client_metrics_port(self) -> int | None:
        return self.server_view.client_metrics_port

    @property
    def server_side(self) -> dict[str, Any] | None:
        return self.server_view.section

    def _finish_server_view(self) -> None:
        interrupted = f"run interrupted by {self.signal_name}" if self.signal_name else None
        self.server_view.finish(self.out_dir, self.record, interrupted)

    # -- run / stop ------------------------------------------------------------------------
    def run(self) -> None:
        run_phase(self)

    def stop(self) -> None:
        """End every child by PID (Locust, py-spy, Prometheus, sampler, target). Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        for child in reversed(self.children):
            _quietly(child.stop)
        if self.sampler is not None:
            _quietly(self.sampler.stop)
        if self.server_view.session is not None:
            _quietly(self._finish_server_view)
        if isinstance(self.target, EmbeddedTarget):
            _quietly(self.target.stop)
            log.info("target stopped")

    # -- finish ----------------------------------------------------------------------------
    def finish(self) -> ExitCode:
        return finish_run(self)


def _profile_overrides(profile: Profile, cfg: RunConfig) -> Profile:
    """Profile phase: --users is the load to hold (no knee search), --duration the recording."""
    from agentload.durations import parse_duration

    params = profile.profile
    if params is None:
        raise ConfigError(f"{profile.source}: the profile phase needs a [profile] table")
    update: dict[str, Any] = {}
    if cfg.users is not None:
        update["knee_users"] = cfg.users
    if cfg.duration is not None:
        seconds = parse_duration(cfg.duration, what="--duration")
        if seconds < 1:
            raise ConfigError(f"--duration: got {cfg.duration!r}, expected at least 1s")
        update["hold_s"] = seconds
    return profile.model_copy(update={"profile": params.model_copy(update=update)})


def _quietly(func: Any) -> None:
    try:
        func()
    except Exception as exc:  # cleanup must go on for the other children
        log.warning("cleanup: %s: %s", type(exc).__name__, exc)
