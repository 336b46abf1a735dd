"""Phase profiles: ``profiles/<phase>.toml`` loaded into a typed ``Profile``.

TOML durations are written as ``duration = "5m"`` (or ``duration_s = 300``); the model keeps
seconds in ``*_s`` fields. Overrides from the CLI (``users``, ``spawn_rate``, ``duration``,
``gates``) are applied by ``load_profile`` so that the stage table keeps its form:

- ``duration``: shape ``none`` runs that long; ``stages`` scales every stage's length by
  ``duration / sum(stage lengths)``; ``stress`` scales ``warmup_s`` and ``step_duration_s`` so that
  all ``max_steps`` steps fit in it; a ``[profile]`` phase gives a third to ``hold_s`` and the
  rest to its knee search (all to ``hold_s`` when ``knee_users`` is set).
- ``users``: shape ``none`` runs that many; ``stages`` scales each stage's users by
  ``users / peak users`` (at least 1); ``stress`` scales ``start_users`` and ``step_users`` so that
  the last step reaches ``users``.
- ``spawn_rate``: replaces the spawn rate of the run and of every stage.
- ``gates``: added to the profile's gates.
- ``rate``, ``arrival`` (open model only) and ``slo`` (``["ttft=500ms"]``, merged over the
  profile's ``slo`` table).

A profile is found with :func:`agentload.stock.lookup.find`: a path as given, else
``./profiles/<name>.toml``, else the stock ``profiles/<name>.toml``. Its
``scenario_config`` is a name or a path, resolved by :func:`scenario_config_path`: a path relative
to the profile's folder (then the current folder); a name (``smoke``) in the ``scenarios/`` folder
beside the profile's folder (``../scenarios/smoke.toml``, where the stock profiles find theirs),
then the lookup (``./scenarios/``, the package's).

API: ``load_profile(name_or_path, overrides=None) -> Profile`` (ConfigError naming file and field),
``profile_from_dict(data, source=..., overrides=None)``, ``apply_overrides(profile, overrides)``,
``profile_path(name_or_path)``, ``scenario_config_path(profile)``;
``Profile.shape_table()`` is the ``AGENTLOAD_SHAPE`` JSON for agentload/locust/shapes/,
``Profile.peak_users``; ``PHASES``, ``PROFILES_DIR`` (the stock profiles);
``check_worker_steps(profile, workers)`` (ConfigError when stress steps are too short for
``--workers``, to be called once the overrides are applied, before any load).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from agentload.durations import parse_duration
from agentload.errors import ConfigError
from agentload.gates import parse_gate
from agentload.metrics.slo import parse_slos
from agentload.stock.lookup import find, is_explicit_path, stock_dir

PROFILES_DIR = stock_dir("profiles")
WORKER_REPORT_INTERVAL_S = 3.0  # Locust's WORKER_REPORT_INTERVAL (not imported: no gevent here)
MIN_REPORT_INTERVALS = 3
PHASES = ("smoke", "load", "stress", "profile", "rate", "sweep")
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
    late is dropped and fails its entry."""

    rate_per_s: Positive = 10.0
    arrival: Literal["poisson", "constant"] = "poisson"
    users: int = Field(default=0, ge=0, le=10_000)
    max_users: int = Field(default=1000, ge=1, le=10_000)
    max_lag_s: Seconds = _dur("max_lag", 5.0)


class SweepParams(_Model):
    """The rate sweep (``agentload run sweep``): a synchronous run, a throughput run with the
    profile's ``users``, then ``steps`` open-model rates evenly between the two, each for
    ``step_duration_s``; a rate breaks down past ``max_error_rate`` errors or a P95 E2E above
    ``max_p95_factor`` x the synchronous one; ``max_rate_under_slo`` is the highest rate whose
    goodput share reaches ``goodput_target``."""

    steps: int = Field(default=8, ge=1, le=50)
    step_duration_s: Seconds = _dur("step_duration", 30.0)
    goodput_target: float = Field(default=0.9, gt=0, le=1)
    max_error_rate: float = Field(default=0.05, ge=0, le=1)
    max_p95_factor: Positive = 10.0
    arrival: Literal["poisson", "constant"] = "poisson"
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
    shape: Literal["stages", "stress", "open_model", "sweep", "none"] = "none"
    stages: list[Stage] = Field(default_factory=list)
    stress: StressParams | None = None
    rate: RateParams | None = None
    sweep: SweepParams | None = None
    slo: dict[str, str] = Field(default_factory=dict)
    profile: ProfileParams | None = None
    gates: list[str] = Field(default_factory=list)
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


def profile_path(name_or_path: str | Path) -> Path:
    """``smoke`` -> ``./profiles/smoke.toml`` or the stock one; a path (``x/y.toml``) as given."""
    return find("profiles", name_or_path)


def scenario_config_path(profile: Profile) -> Path:
    """The absolute path of the profile's ``scenario_config`` (see the module docstring);
    ConfigError naming the profile and the field when it is nowhere."""
    value, owner = profile.scenario_config, profile.source or "profile"
    source = Path(profile.source) if profile.source else None
    here = source.resolve().parent if source is not None and source.is_file() else None
    given = Path(value).expanduser()
    if given.is_absolute():
        candidates = [given]
    elif is_explicit_path(value):
        candidates = [base / given for base in (here, Path.cwd()) if base is not None]
    else:
        beside = [here.parent / "scenarios" / f"{value}.toml"] if here is not None else []
        for path in beside:
            if path.is_file():
                return path.resolve()
        try:
            return find("scenarios", value).resolve()
        except ConfigError as exc:
            raise ConfigError(f"{owner}: field 'scenario_config': {exc}") from None
    for path in candidates:
        if path.is_file():
            return path.resolve()
    tried = " or ".join(str(path) for path in candidates)
    raise ConfigError(
        f"{owner}: field 'scenario_config': {value!r} not found ({tried}), expected a scenario "
        'config name such as "smoke" or a path relative to the profile\'s folder'
    )


def load_profile(name_or_path: str | Path, overrides: Mapping[str, Any] | None = None) -> Profile:
    """Load a phase profile and apply CLI overrides; ConfigError names the file and the field."""
    path = profile_path(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read profile {str(path)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text, expected a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {_one_line(str(exc))}") from None
    return profile_from_dict(data, source=str(path), overrides=overrides)


def profile_from_dict(
    data: Mapping[str, Any], *, source: str, overrides: Mapping[str, Any] | None = None
) -> Profile:
    """Validate a profile mapping (as read from TOML) and apply overrides."""
    data = dict(data)
    data.setdefault("phase", Path(source).stem)
    try:
        profile = Profile.model_validate({**data, "source": source})
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except ValidationError as exc:
        raise ConfigError(_describe(source, exc)) from None
    return apply_overrides(profile, overrides or {})


def apply_overrides(profile: Profile, overrides: Mapping[str, Any]) -> Profile:
    """Apply ``users``, ``spawn_rate``, ``duration`` and ``gates`` (None values are ignored)."""
    known = {
        "users", "spawn_rate", "duration", "gates", "rate", "arrival", "slo", "steps",
        "step_duration",
    }  # fmt: skip
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"unknown override(s) {unknown}, expected {sorted(known)}")
    update: dict[str, Any] = {}
    users = _positive_int(overrides.get("users"), "--users")
    rate = _positive_float(overrides.get("spawn_rate"), "--spawn-rate")
    raw_duration = overrides.get("duration")
    duration = None if raw_duration is None else parse_duration(raw_duration, what="--duration")
    if duration is not None and duration <= 0:
        raise ConfigError(f"--duration: got {raw_duration!r}, expected a duration above 0")
    if users is not None:
        update["users"] = users
        update.update(_scale_users(profile, users))
    if rate is not None:
        update["spawn_rate"] = rate
        stages = update.get("stages", profile.stages)
        update["stages"] = [s.model_copy(update={"spawn_rate": rate}) for s in stages]
    if duration is not None:
        update["duration_s"] = duration
        search = duration
        if profile.profile is not None:
            searching = profile.shape == "stress" and profile.profile.knee_users is None
            hold = duration / 3 if searching else duration
            search = duration - hold
            warmup = min(profile.profile.warmup_s, hold / 3)
            update["profile"] = profile.profile.model_copy(
                update={"hold_s": hold, "warmup_s": warmup}
            )
        update.update(_scale_duration(profile, update, search))
    update.update(_open_model_overrides(profile, overrides, users))
    update.update(_sweep_overrides(profile, overrides, duration))
    if overrides.get("slo"):
        given = {}
        for item in overrides["slo"]:
            metric = item.partition("=")[0].strip().lower()
            parse_slos([item])
            given[metric] = item.partition("=")[2].strip()
        update["slo"] = {**profile.slo, **given}
    if overrides.get("gates"):
        extra = list(overrides["gates"])
        for expr in extra:
            parse_gate(expr)
        update["gates"] = [*profile.gates, *extra]
    return profile.model_copy(update=update) if update else profile


def _open_model_overrides(
    profile: Profile, overrides: Mapping[str, Any], users: int | None
) -> dict[str, Any]:
    """``--rate``, ``--arrival`` and ``--users`` (the first pool) of an open-model profile."""
    rate = _positive_float(overrides.get("rate"), "--rate")
    arrival = overrides.get("arrival")
    if rate is None and arrival is None and users is None:
        return {}
    if profile.rate is None:
        if rate is None and arrival is None:
            return {}
        raise ConfigError(
            f"--rate/--arrival: phase {profile.phase!r} is closed-loop, expected the rate phase"
        )
    if arrival is not None and arrival not in ("poisson", "constant"):
        raise ConfigError(f"--arrival: got {arrival!r}, expected poisson or constant")
    changes: dict[str, Any] = {}
    if rate is not None:
        changes["rate_per_s"] = rate
    if arrival is not None:
        changes["arrival"] = arrival
    if users is not None:
        changes["users"] = users
        changes["max_users"] = max(users, profile.rate.max_users)
    return {"rate": profile.rate.model_copy(update=changes)}


def _sweep_overrides(
    profile: Profile, overrides: Mapping[str, Any], duration: float | None
) -> dict[str, Any]:
    """``--steps``, ``--step-duration`` (and ``--duration``: the whole sweep, every run an equal
    share of it) of a sweep profile."""
    steps = _positive_int(overrides.get("steps"), "--steps")
    raw = overrides.get("step_duration")
    step_s = None if raw is None else parse_duration(raw, what="--step-duration")
    if steps is None and step_s is None and duration is None:
        return {}
    if profile.sweep is None:
        if steps is None and step_s is None:
            return {}
        raise ConfigError(
            f"--steps/--step-duration: phase {profile.phase!r} is not a sweep, expected sweep"
        )
    changes: dict[str, Any] = {}
    if steps is not None:
        changes["steps"] = steps
    runs = changes.get("steps", profile.sweep.steps) + 2
    if step_s is None and duration is not None:
        step_s = duration / runs
    if step_s is not None:
        if step_s < 2:
            raise ConfigError(f"--step-duration: got {step_s:g}s, expected at least 2s per run")
        changes["step_duration_s"] = step_s
    return {"sweep": profile.sweep.model_copy(update=changes)}


def _scale_users(profile: Profile, users: int) -> dict[str, Any]:
    if profile.shape == "stages":
        factor = users / max(1, profile.peak_users)
        stages = [
            s.model_copy(update={"users": max(1, round(s.users * factor))}) for s in profile.stages
        ]
        return {"stages": stages}
    if profile.shape == "stress" and profile.stress is not None:
        st = profile.stress
        factor = users / max(1, profile.peak_users)
        start = max(1, round(st.start_users * factor))
        step = max(1, math.ceil((users - start) / max(1, st.max_steps - 1)))
        return {"stress": st.model_copy(update={"start_users": start, "step_users": step})}
    return {}


def _scale_duration(profile: Profile, update: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    stages: list[Stage] = update.get("stages", profile.stages)
    total = sum(s.duration_s for s in stages)
    if profile.shape == "stages" and total > 0:
        out["stages"] = [
            s.model_copy(update={"duration_s": s.duration_s * seconds / total}) for s in stages
        ]
    stress: StressParams | None = update.get("stress", profile.stress)
    if profile.shape == "stress" and stress is not None:
        full = stress.max_steps * (stress.step_duration_s)
        factor = seconds / full if full > 0 else 1.0
        out["stress"] = stress.model_copy(
            update={
                "step_duration_s": stress.step_duration_s * factor,
                "warmup_s": min(stress.warmup_s * factor, stress.step_duration_s * factor / 2),
            }
        )
    return out


def _positive_int(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{what}: got {value!r}, expected a whole number >= 1")
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{what}: got {value!r}, expected a whole number >= 1") from None
    if number < 1:
        raise ConfigError(f"{what}: got {value!r}, expected a whole number >= 1")
    return number


def _positive_float(value: Any, what: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what}: got {value!r}, expected a number > 0") from None
    if isinstance(value, bool) or not math.isfinite(number) or number <= 0:
        raise ConfigError(f"{what}: got {value!r}, expected a number > 0")
    return number


def _describe(source: str, exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    field = ".".join(str(p) for p in err["loc"]) or "(top level)"
    message = _one_line(str(err["msg"])).removeprefix("Value error, ")
    if err["type"] == "missing":
        return f"{source}: field {field!r} is missing"
    if err["type"] == "extra_forbidden":
        return f"{source}: unknown field {field!r}"
    if err["type"] == "value_error" and "gate " in message:
        return f"{source}: field {field!r}: {message}"
    shown = _one_line(repr(err.get("input")))
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return f"{source}: field {field!r}: got {shown}, {message}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
