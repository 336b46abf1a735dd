"""The typed phase profile: ``Profile`` and its parameter tables, as validated from TOML.

TOML durations are written as ``duration = "5m"`` (or ``duration_s = 300``); the model keeps
seconds in ``*_s`` fields. A shape's table is checked against the shape (``stages`` needs
``[[stages]]`` summing to ``duration``, ``stress`` a ``[stress]`` table, ...), gates and SLOs
against their grammars, so that a ``Profile`` that exists is one a run can use.

API: ``Profile`` (``Stage``, ``StressParams``, ``ProfileParams``, ``RateParams``,
``SweepParams``, ``ReplayParams``, ``AbortParams``); ``Profile.shape_table()`` is the
``AGENTLOAD_SHAPE`` JSON for agentload/locust/shapes/, ``Profile.peak_users``,
``Profile.slos``; ``PHASES``, ``PROFILES_DIR`` (the stock profiles), ``DURATION_FORM``;
``check_worker_steps(profile, workers)`` (ConfigError when stress steps are too short for
``--workers``, to be called once the overrides are applied, before any load).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from agentload.durations import parse_duration
from agentload.errors import ConfigError
from agentload.gates.grammar import parse_gate
from agentload.metrics.slo import parse_slos
from agentload.stock.lookup import stock_dir

PROFILES_DIR = stock_dir("profiles")
WORKER_REPORT_INTERVAL_S = 3.0  # Locust's WORKER_REPORT_INTERVAL (not imported: no gevent here)
MIN_REPORT_INTERVALS = 3
PHASES = ("smoke", "load", "stress", "profile", "rate", "replay", "sweep")
DURATION_FORM = 'expected a duration such as "30s", "5m", "1h30m" or a number of seconds'


def _seconds(value: Any) -> Any:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            return parse_duration(value)
        except ConfigError:
            raise ValueError(DURATION_FORM) from None
    return value


Seconds = Annotated[float, BeforeValidator(_seconds), Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


def _dur(name: str, default: float | None = None) -> Any:
    alias = AliasChoices(name, f"{name}_s")
    if default is None:
        return Field(validation_alias=alias)
    return Field(default=default, validation_alias=alias)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True, populate_by_name=True)


class Stage(_Model):
    """Ramp to ``users`` at ``spawn_rate``/s, hold for ``duration_s`` (the stage's own length)."""

    duration_s: Seconds = _dur("duration")
    users: int = Field(ge=0)
    spawn_rate: Positive = 1.0


class StressParams(_Model):
    """Growing steps: ``start_users`` then ``+step_users`` every ``step_duration_s``; the first
    ``warmup_s`` of each step are left out of its measurement."""

    start_users: int = Field(default=2, ge=1)
    step_users: int = Field(default=2, ge=1)
    step_duration_s: Seconds = _dur("step_duration", 30.0)
    warmup_s: Seconds = _dur("warmup", 5.0)
    max_steps: int = Field(default=12, ge=2)
    spawn_rate: Positive = 10.0
    max_error_rate: float = Field(default=0.05, ge=0, le=1)
    p95_limit_ms: Positive = 30_000.0
    min_rps_gain: float = Field(default=0.05, ge=0, le=10)
    entry: str = ""  # the knee's entry; "" : the first scenario of the phase (or --entry)

    def step_users_at(self, index: int) -> int:
        return self.start_users + index * self.step_users


class ProfileParams(_Model):
    """The profile phase: find the knee with the ``[stress]`` steps (unless ``knee_users`` is set),
    then hold it for ``hold_s`` while py-spy samples at ``rate_hz``."""

    hold_s: Seconds = _dur("hold", 60.0)
    warmup_s: Seconds = _dur("warmup", 10.0)
    rate_hz: int = Field(default=100, ge=1, le=1000)
    top_n: int = Field(default=5, ge=1, le=50)
    knee_users: int | None = Field(default=None, ge=1)
    native: bool = False


class RateParams(_Model):
    """The open model (``agentload run rate``): ``rate_per_s`` arrivals, ``poisson`` or
    ``constant``, each timed from its intended start; a pool of ``users`` (0: sized from the
    rate) grown up to ``max_users`` while arrivals run late; an arrival more than ``max_lag_s``
    late is dropped and fails its entry. ``stop_over_saturated``: end the run early when the
    target no longer keeps up (:mod:`agentload.metrics.saturation`)."""

    rate_per_s: Positive = 10.0
    arrival: Literal["poisson", "constant"] = "poisson"
    users: int = Field(default=0, ge=0, le=10_000)
    max_users: int = Field(default=1000, ge=1, le=10_000)
    max_lag_s: Seconds = _dur("max_lag", 5.0)
    stop_over_saturated: bool = True


class SweepParams(_Model):
    """The rate sweep (``agentload run sweep``): a synchronous run, a throughput run with the
    profile's ``users``, then ``steps`` open-model rates evenly between the two, each for
    ``step_duration_s``; a rate breaks down past ``max_error_rate`` errors or a P95 E2E above
    ``max_p95_factor`` x the synchronous one; ``max_rate_under_slo`` is the highest rate whose
    goodput share reaches ``goodput_target``. ``stop_over_saturated``: a rate the target no
    longer keeps up with ends early, marked, and the sweep stops there; ``max_rate_factor``
    (above 1) spaces the rates up to that many times the throughput run's rate, past what the
    closed loop reached."""

    steps: int = Field(default=8, ge=1, le=50)
    step_duration_s: Seconds = _dur("step_duration", 30.0)
    goodput_target: float = Field(default=0.9, gt=0, le=1)
    max_error_rate: float = Field(default=0.05, ge=0, le=1)
    max_p95_factor: Positive = 10.0
    arrival: Literal["poisson", "constant"] = "poisson"
    max_users: int = Field(default=1000, ge=1, le=10_000)
    max_lag_s: Seconds = _dur("max_lag", 5.0)
    stop_over_saturated: bool = True
    max_rate_factor: float = Field(default=1.0, ge=1.0, le=10.0)


class ReplayParams(_Model):
    """Trace replay (``agentload run replay --trace FILE``): each row one call at its time
    divided by ``speed``, rows past ``max_duration_s`` left out (and the replay stopped there);
    a pool of ``users`` (0: sized from the trace) grown up to ``max_users`` while rows run late;
    a row more than ``max_lag_s`` late is dropped and fails its entry."""

    speed: Positive = 1.0
    max_duration_s: Seconds = _dur("max_duration", 3600.0)
    users: int = Field(default=0, ge=0, le=10_000)
    max_users: int = Field(default=1000, ge=1, le=10_000)
    max_lag_s: Seconds = _dur("max_lag", 5.0)


class AbortParams(_Model):
    """Early abort (k6 abortOnFail + delayAbortEval): after ``grace_s``, check every
    ``interval_s`` and abort when one of ``gates`` (default: all the profile's gates) fails."""

    grace_s: Seconds = _dur("grace", 60.0)
    interval_s: Seconds = _dur("interval", 5.0)
    gates: list[str] = Field(default_factory=list)


class Profile(_Model):
    """A phase's defaults (``profiles/<phase>.toml``)."""

    phase: str = Field(min_length=1)
    description: str = ""
    users: int = Field(ge=1)
    spawn_rate: Positive
    duration_s: Seconds = _dur("duration")
    scenario_config: str = Field(min_length=1)
    user_classes: list[str] = Field(min_length=1)
    shape: Literal["stages", "stress", "open_model", "sweep", "replay", "none"] = "none"
    stages: list[Stage] = Field(default_factory=list)
    stress: StressParams | None = None
    rate: RateParams | None = None
    sweep: SweepParams | None = None
    replay: ReplayParams | None = None
    slo: dict[str, str] = Field(default_factory=dict)
    profile: ProfileParams | None = None
    gates: list[str] = Field(default_factory=list)
    # A gate whose 95 % interval holds its threshold is inconclusive, which fails the run unless
    # allowed: a profile whose runs are too short to decide its gates (smoke, a sanity run: 0
    # errors in 200 calls still allow 1.9 %) allows it, as --allow-inconclusive does.
    allow_inconclusive: bool = False
    abort: AbortParams | None = None
    source: str = Field(default="", exclude=True)

    @field_validator("gates")
    @classmethod
    def _gates_parse(cls, gates: list[str]) -> list[str]:
        for expr in gates:
            try:
                parse_gate(expr)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return gates

    @field_validator("slo")
    @classmethod
    def _slo_parses(cls, slo: dict[str, str]) -> dict[str, str]:
        try:
            parse_slos(f"{metric}={limit}" for metric, limit in slo.items())
        except ConfigError as exc:
            raise ValueError(str(exc).removeprefix("--slo ")) from None
        return slo

    @property
    def slos(self) -> dict[str, float]:
        """The SLOs in ms (``{"ttft": 500.0}``)."""
        return parse_slos(f"{metric}={limit}" for metric, limit in self.slo.items())

    @model_validator(mode="after")
    def _shape_params(self) -> Profile:
        if self.shape == "stages" and not self.stages:
            raise ValueError('shape "stages" needs a [[stages]] table')
        if self.shape == "stress" and self.stress is None:
            raise ValueError('shape "stress" needs a [stress] table')
        if self.shape == "open_model" and self.rate is None:
            raise ValueError('shape "open_model" needs a [rate] table')
        if self.shape == "sweep" and self.sweep is None:
            raise ValueError('shape "sweep" needs a [sweep] table')
        if self.shape == "replay" and self.replay is None:
            raise ValueError('shape "replay" needs a [replay] table')
        total = sum(s.duration_s for s in self.stages)
        if self.shape == "stages" and abs(total - self.duration_s) > 1e-6:
            raise ValueError(
                f"duration {self.duration_s:g}s must equal the sum of the stages ({total:g}s)"
            )
        if self.abort is not None:
            for expr in self.abort.gates:
                try:
                    parse_gate(expr)
                except ConfigError as exc:
                    raise ValueError(f"abort.gates: {exc}") from None
        return self

    @property
    def peak_users(self) -> int:
        if self.shape == "stages":
            return max(s.users for s in self.stages)
        if self.shape == "stress" and self.stress is not None:
            return self.stress.step_users_at(self.stress.max_steps - 1)
        return self.users

    def shape_table(self) -> dict[str, Any]:
        """The JSON-able table for ``AGENTLOAD_SHAPE``, in the form agentload/locust/shapes/ read
        (the runner adds ``steps_path`` for the stress shape)."""
        if self.shape == "stages":
            return {"stages": [_stage_json(s) for s in self.stages]}
        if self.shape == "stress" and self.stress is not None:
            return {"stress": self.stress.model_dump()}
        if self.shape == "open_model" and self.rate is not None:
            return {**self.rate.model_dump(), "duration_s": self.duration_s}
        return {}


def check_worker_steps(profile: Profile, workers: int) -> None:
    """With ``--workers``, each stress step's measured part (``step_duration_s - warmup_s``)
    must span at least ``MIN_REPORT_INTERVALS`` worker reports: the workers' requests reach the
    master every ``WORKER_REPORT_INTERVAL_S``, so a step's figures come up to one interval
    after it ends, and a shorter step would be decided on after the next one began measuring.
    ConfigError in one line otherwise (nothing to check without workers or stress steps)."""
    stress = profile.stress
    if profile.profile is not None:  # the profile phase searches unless told the knee
        searching = profile.profile.knee_users is None
    else:
        searching = profile.shape == "stress"
    if workers <= 0 or stress is None or not searching:
        return
    measured = stress.step_duration_s - stress.warmup_s
    needed = MIN_REPORT_INTERVALS * WORKER_REPORT_INTERVAL_S
    if measured < needed:
        raise ConfigError(
            f"{profile.phase}: step_duration_s - warmup_s = {measured:g}s is shorter than "
            f"{MIN_REPORT_INTERVALS} worker report intervals ({needed:g} s) with --workers; "
            "raise step_duration_s (or --duration)"
        )


def _stage_json(stage: Stage) -> dict[str, Any]:
    return {"duration": stage.duration_s, "users": stage.users, "spawn_rate": stage.spawn_rate}
