"""What a phase and the end of a run may use of the run: narrow views the orchestrator provides.

A phase (:mod:`agentload.run.phases`) receives a :class:`PhaseContext` and the end of the run
(:mod:`agentload.run.finish`) a :class:`FinishedRun`, never the orchestrator itself, so neither
imports it. :class:`PhaseRecord` is what the phases find while they run (sections of
summary.json, notes, lost workers, the load window), read again when the results are written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from agentload.gates import Gate
from agentload.profiles.model import Profile
from agentload.run.config import RunConfig
from agentload.run.target import EmbeddedTarget, RemoteTarget
from agentload.scenarios.plan import ApiPlan


@dataclass
class PhaseRecord:
    """What the phases found, in the order they found it."""

    sections: dict[str, Any] = field(default_factory=dict)  # summary.json's stress, profile, sweep
    notes: list[str] = field(default_factory=list)  # summary.json's notes
    lost_workers: list[dict[str, Any]] = field(default_factory=list)
    remote_workers: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> who
    load_window: list[float] = field(default_factory=list)  # when each Locust run started
    load_end: float | None = None  # when the last one ended (time.time())
    gate_abort: str | None = None  # an early abort's reason
    planned_s: float | None = None  # rate, sweep: the results folder's run's planned length


class Stoppable(Protocol):
    """A child the run ends at its stop (Locust processes, py-spy)."""

    def stop(self) -> None: ...


class RunFacts(Protocol):
    """What every part of a run may read of it."""

    @property
    def config(self) -> RunConfig: ...
    @property
    def phase(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def out_dir(self) -> Path: ...
    @property
    def api_plan(self) -> ApiPlan | None: ...
    @property
    def user_locustfile(self) -> Path | None: ...
    @property
    def target(self) -> EmbeddedTarget | RemoteTarget | None: ...
    @property
    def record(self) -> PhaseRecord: ...


class PhaseContext(RunFacts, Protocol):
    """What a phase reads of the run, and where it records what it found."""

    @property
    def profile(self) -> Profile: ...
    @property
    def client_metrics_port(self) -> int | None: ...

    def check(self) -> None:
        """Raise RunAborted on a signal, a dead target or a results write that failed."""

    def take_signal(self) -> str | None:
        """The signal that arrived (its name), forgotten once taken: a web UI run ends on it."""

    def adopt(self, child: Stoppable, name: str, pids: list[int]) -> None:
        """A child the run ends at its stop, and its PIDs (summary meta, runner.log)."""


class FinishedRun(RunFacts, Protocol):
    """What the end of a run reads to write summary.json, junit.xml and report.html."""

    @property
    def gates(self) -> list[Gate]: ...
    @property
    def server_side(self) -> dict[str, Any] | None: ...
    @property
    def abort_reason(self) -> str | None: ...
    @property
    def pids(self) -> dict[str, list[int]]: ...

    allow_inconclusive: bool  # --allow-inconclusive, or the profile's allow_inconclusive
    config_error: str | None  # set when the summary finds one (a gate on an unknown entry)
    regression: bool  # set when the comparison with --baseline finds one
    late_write_errors: list[str]  # results files that could not be written

    def write_errors(self) -> list[str]:
        """The runner's own writes that failed (disk full), one line each, first first."""
