"""Scenario configs (``scenarios/*.toml``): per-run changes to an API description's scenarios.

A scenario config is the same overlay as a description's ``[phases.PHASE]`` table (weights, think
time, vars, stream share, timeouts, deadlines, gates; see :class:`agentload.apis.model.Overlay`)
plus the run's ``seed`` and the open model's ``[open_model]`` table. It names no API: scenario
names are checked against the description when both are known (:mod:`agentload.apis.resolve`).

``load_scenario_config(path) -> ScenarioConfig`` reads and validates it; any problem raises
:class:`ScenarioConfigError` (a :class:`agentload.errors.ConfigError`, exit 2) whose message names
the file and the field, e.g. ``scenarios/bad.toml: field "weights.chat": got -1, expected a number
>= 0``. Pure: no Locust import.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError

from agentload.apis.base import StrictModel as _Model
from agentload.apis.model import Overlay
from agentload.errors import ConfigError
from agentload.validation import describe


class ScenarioConfigError(ConfigError):
    """A scenario config that cannot be used; the message names the file and the field."""


class OpenModel(_Model):
    """Open-model (arrival-scheduled) load: see ``agentload.locust.shapes.open_model``. ``scenario``
    empty: the first scenario of the run."""

    scenario: str = ""
    arrival: Literal["constant", "poisson"] = "poisson"
    rate_per_s: float = Field(default=10.0, gt=0, le=100_000)
    duration_s: float = Field(default=60.0, gt=0)
    users: int = Field(default=0, ge=0, le=10_000)
    expected_latency_s: float = Field(default=0.2, gt=0)
    max_lag_s: float = Field(default=5.0, gt=0)


class ScenarioFile(Overlay):
    """The TOML file as written: an overlay, a seed and the open-model table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 42
    open_model: OpenModel = OpenModel()


class ScenarioConfig(_Model):
    """A validated scenario config and where it came from."""

    path: Path
    file: ScenarioFile

    @property
    def seed(self) -> int:
        return self.file.seed


def load_scenario_config(path: str | Path) -> ScenarioConfig:
    """Read and validate a scenario config; raise ScenarioConfigError in one line."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioConfigError(
            f"{path}: scenario config not found, expected a TOML file such as scenarios/smoke.toml"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioConfigError(f"{path}: not a readable TOML file: {exc}") from None
    try:
        parsed = ScenarioFile.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioConfigError(f"{path}: {describe(exc)}") from None
    return ScenarioConfig(path=path, file=parsed)
