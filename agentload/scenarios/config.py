"""Scenario configs (``scenarios/*.toml``): typed models and a loader that fails in one line.

``load_scenario_config(path) -> ScenarioConfig`` reads the TOML, validates it with pydantic and
loads its datasets (paths relative to the TOML file). Any problem raises
:class:`ScenarioConfigError` (a :class:`agentload.errors.ConfigError`, exit 2) whose message names
the file and the field, e.g.
``scenarios/bad.toml: field "scenarios.codegen.weight": got -1, expected a number >= 0``.
Pure: no Locust import.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agentload.errors import ConfigError
from agentload.scenarios.datasets import Dataset, DatasetError, load_dataset

SCENARIOS = ("status", "codegen", "research")
DEFAULT_CONFIG = Path("scenarios/default.toml")
BUILTIN_DIR = Path(__file__).resolve().parents[2] / "scenarios"

Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class ScenarioConfigError(ConfigError):
    """A scenario config that cannot be used; the message names the file and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThinkTime(_Model):
    """Uniform wait between two tasks of a user, in seconds (0 and 0: no think time)."""

    min_s: Seconds = 0.5
    max_s: Seconds = 1.5

    @model_validator(mode="after")
    def _ordered(self) -> ThinkTime:
        if self.max_s < self.min_s:
            raise ValueError(f"max_s ({self.max_s}) must be >= min_s ({self.min_s})")
        return self


class StatusScenario(_Model):
    """Scenario A: ``GET /v1/status``."""

    weight: Weight = 1.0


class CodegenScenario(_Model):
    """Scenario B: ``POST /v1/agents/codegen`` with prompts from a dataset."""

    weight: Weight = 1.0
    dataset: str = "data/codegen_prompts.jsonl"
    language: Literal["python"] = "python"
    max_tokens: int = Field(default=256, ge=1, le=8192)
    stream_share: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout_s: float = Field(default=60.0, gt=0)
    # Real users rarely send the same prompt twice: a seeded request tag keeps the target's
    # prompt cache from answering a dataset's repeats. Set false to exercise that cache.
    unique_prompts: bool = True


class ResearchScenario(_Model):
    """Scenario C: submit a research job, poll it until it ends or passes its deadline."""

    weight: Weight = 1.0
    dataset: str = "data/research_questions.jsonl"
    depth: int = Field(default=2, ge=1, le=10)
    deadline_s: float = Field(default=120.0, gt=0)
    poll_initial_s: float = Field(default=0.25, gt=0)
    poll_max_s: float = Field(default=4.0, gt=0)
    poll_backoff: float = Field(default=1.5, ge=1.0)


class Scenarios(_Model):
    """The scenarios a config runs; an absent table means weight 0 (not run by the mixed user)."""

    status: StatusScenario | None = None
    codegen: CodegenScenario | None = None
    research: ResearchScenario | None = None


class OpenModel(_Model):
    """Open-model (arrival-scheduled) load: see ``agentload.shapes.open_model``."""

    scenario: Literal["status", "codegen"] = "status"
    arrival: Literal["constant", "poisson"] = "poisson"
    rate_per_s: float = Field(default=10.0, gt=0, le=100_000)
    duration_s: float = Field(default=60.0, gt=0)
    users: int = Field(default=0, ge=0, le=10_000)
    expected_latency_s: float = Field(default=0.2, gt=0)
    max_lag_s: float = Field(default=5.0, gt=0)


class ScenarioFile(_Model):
    """The TOML file as written."""

    seed: int = 42
    think_time: ThinkTime = ThinkTime()
    scenarios: Scenarios
    open_model: OpenModel = OpenModel()


class ScenarioConfig(_Model):
    """A validated config with its datasets loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    path: Path
    file: ScenarioFile
    prompts: Dataset | None = None
    questions: Dataset | None = None

    @property
    def seed(self) -> int:
        return self.file.seed

    @property
    def status(self) -> StatusScenario:
        """Scenario A's table (defaults with weight 0 when the file has none)."""
        return self.file.scenarios.status or StatusScenario(weight=0)

    @property
    def codegen(self) -> CodegenScenario:
        """Scenario B's table (defaults with weight 0 when the file has none)."""
        return self.file.scenarios.codegen or CodegenScenario(weight=0)

    @property
    def research(self) -> ResearchScenario:
        """Scenario C's table (defaults with weight 0 when the file has none)."""
        return self.file.scenarios.research or ResearchScenario(weight=0)

    def weights(self) -> dict[str, float]:
        """Weight per scenario (0 for the absent ones)."""
        found = {name: getattr(self.file.scenarios, name) for name in SCENARIOS}
        return {name: (sc.weight if sc is not None else 0.0) for name, sc in found.items()}


def load_scenario_config(path: str | Path = DEFAULT_CONFIG) -> ScenarioConfig:
    """Read, validate and load a scenario config; raise ScenarioConfigError in one line."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioConfigError(
            f"{path}: scenario config not found, expected a TOML file such as {DEFAULT_CONFIG}"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioConfigError(f"{path}: not a readable TOML file: {exc}") from None
    try:
        parsed = ScenarioFile.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioConfigError(f"{path}: {_describe(exc)}") from None
    weights = {n: getattr(parsed.scenarios, n) for n in SCENARIOS}
    if not any(sc is not None and sc.weight > 0 for sc in weights.values()):
        raise ScenarioConfigError(
            f'{path}: field "scenarios": no scenario with a weight > 0, expected at least one '
            f"of {', '.join(SCENARIOS)}"
        )
    codegen, research = parsed.scenarios.codegen, parsed.scenarios.research
    prompts: Dataset | None
    questions: Dataset | None
    if codegen is not None:
        prompts = _dataset(path, "scenarios.codegen.dataset", codegen.dataset, "prompt")
    else:
        prompts = _builtin(CodegenScenario().dataset, "prompt")
    if research is not None:
        questions = _dataset(path, "scenarios.research.dataset", research.dataset, "question")
    else:
        questions = _builtin(ResearchScenario().dataset, "question")
    return ScenarioConfig(path=path, file=parsed, prompts=prompts, questions=questions)


def _builtin(relative: str, key: str) -> Dataset | None:
    """The shipped dataset, for a scenario the file leaves out (run only if a class asks)."""
    try:
        return load_dataset(BUILTIN_DIR / relative, key)
    except DatasetError:
        return None


def _dataset(config_path: Path, field: str, value: str, key: str) -> Dataset:
    target = (config_path.parent / value).resolve()
    try:
        return load_dataset(target, key)
    except DatasetError as exc:
        raise ScenarioConfigError(f'{config_path}: field "{field}": {exc}') from None


def _describe(exc: ValidationError) -> str:
    """One line for the first validation error: the field, the value given, what was expected."""
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in err["loc"])
    given = err.get("input")
    if err["type"] == "extra_forbidden" and len(err["loc"]) == 2 and err["loc"][0] == "scenarios":
        return (
            f'field "{loc}": unknown scenario {err["loc"][1]!r}, expected one of '
            f"{', '.join(SCENARIOS)}"
        )
    if err["type"] == "extra_forbidden":
        return f'field "{loc}": unknown field, check its spelling'
    if err["type"] == "missing":
        return f'field "{loc}": missing, expected a table or value'
    expected = _expected(err)
    return f'field "{loc}": got {_show(given)}, expected {expected}'


def _expected(err: Any) -> str:
    ctx = err.get("ctx") or {}
    kind = err["type"]
    bounds = {
        "greater_than_equal": "a number >= {ge}",
        "greater_than": "a number > {gt}",
        "less_than_equal": "a number <= {le}",
        "less_than": "a number < {lt}",
    }
    if kind in bounds:
        numbers = {k: f"{v:g}" if isinstance(v, int | float) else v for k, v in ctx.items()}
        return bounds[kind].format(**numbers)
    if kind == "literal_error":
        return f"one of {ctx.get('expected', '')}"
    if kind.startswith(("float", "int")):
        return "a number"
    msg = str(err["msg"])
    return msg[len("Value error, ") :] if msg.startswith("Value error, ") else msg.lower()


def _show(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return "a table"
    return repr(value)
