"""What one run sends: a description, its phase overlay and the scenario config, resolved. Pure.

``resolve(description, path, phase=..., scenario_config=..., model=...) -> ApiPlan``: every
scenario with its effective weight, think time, vars, stream share, timeout and job deadline
(description, then its ``[phases.PHASE]``, then the scenario config: the later wins; ``weights``
in an overlay lists the scenarios that run, the others get 0), its dataset loaded, and every
template checked against the names it may use (a ``[scenarios.NAME.synthetic]`` table stands for
a dataset: its rows are made up, :mod:`agentload.scenarios.synthetic`). Problems raise
:class:`PlanError` (exit 2) naming the file and field, before any load starts.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentload.apis.judges import JudgeError, load_function
from agentload.apis.model import Description, Job, Overlay, Scenario, ThinkTime, check_overlay
from agentload.apis.templates import names
from agentload.errors import ConfigError
from agentload.scenarios.config import OpenModel, ScenarioConfig
from agentload.scenarios.datasets import Dataset, DatasetError, load_dataset
from agentload.scenarios.synthetic import SyntheticDataset, SyntheticError, load_synthetic
from agentload.stock.lookup import find

BUILTINS = frozenset({"model", "unique"})
DEFAULT_THINK = ThinkTime()


class PlanError(ConfigError):
    """A description and scenario config that do not fit together (exit 2)."""


@dataclass(frozen=True)
class RunScenario:
    """One scenario as this run sends it."""

    name: str
    spec: Scenario
    weight: float
    think_time: ThinkTime
    vars: Mapping[str, Any]
    stream_share: float
    timeout_s: float
    job: Job | None
    dataset: Dataset | SyntheticDataset | None

    @property
    def entry(self) -> str:
        """The Locust entry of its (submit) request, e.g. ``POST /v1/chat/completions``."""
        return self.spec.entry

    def values(self, rng: random.Random, model: str) -> dict[str, Any]:
        """Template values of one call: a dataset row, the vars, ``model`` and ``unique``."""
        row = self.dataset.pick(rng) if self.dataset is not None else {}
        return {**row, **self.vars, "model": model, "unique": f"{rng.getrandbits(48):012x}"}


@dataclass(frozen=True)
class ApiPlan:
    """A resolved description: what the users of this run do."""

    description: Description
    path: Path
    scenarios: dict[str, RunScenario]
    seed: int = 42
    model: str = ""
    gates: tuple[str, ...] = ()
    open_model: OpenModel = field(default_factory=OpenModel)

    def weights(self) -> dict[str, float]:
        return {name: sc.weight for name, sc in self.scenarios.items()}

    def active(self) -> list[RunScenario]:
        """The scenarios with a weight > 0, in file order."""
        return [sc for sc in self.scenarios.values() if sc.weight > 0]

    def datasets(self) -> dict[str, dict[str, Any]]:
        """Where each active scenario's rows come from (``describe()`` of its dataset): a JSON
        Lines file, or synthetic rows with their ``token_rule``, corpus and sample count."""
        return {sc.name: sc.dataset.describe() for sc in self.active() if sc.dataset is not None}

    def auth_headers(self) -> dict[str, str]:
        """The headers every request carries: the description's and the auth secret's."""
        headers = dict(self.description.headers)
        auth = self.description.auth
        if auth.kind == "none":
            return headers
        secret = os.environ.get(auth.env) or auth.default
        if not secret:
            raise PlanError(
                f'{self.path}: field "auth.env": environment variable {auth.env} is not set, '
                "expected the API's secret in it"
            )
        if auth.kind == "bearer":
            headers["Authorization"] = f"Bearer {secret}"
        else:
            headers[auth.header] = secret
        return headers

    def entry_of(self, scenario: str | None) -> str:
        """The entry of ``scenario`` (default: the first active scenario)."""
        if scenario:
            if scenario not in self.scenarios:
                known = ", ".join(self.scenarios)
                raise PlanError(f"unknown scenario {scenario!r}, expected one of {known}")
            return self.scenarios[scenario].entry
        return self.active()[0].entry


def user_class_name(scenario: str) -> str:
    """The Locust user class of one scenario: ``long-report`` -> ``LongReportUser``."""
    parts = scenario.replace("-", "_").split("_")
    return "".join(part[:1].upper() + part[1:] for part in parts if part) + "User"


def resolve(
    description: Description,
    path: Path,
    *,
    phase: str | None = None,
    scenario_config: ScenarioConfig | None = None,
    model: str | None = None,
) -> ApiPlan:
    """The run's scenarios (see the module docstring); PlanError naming file and field."""
    overlays: list[Overlay] = []
    if phase and phase in description.phases:
        overlays.append(description.phases[phase])
    if scenario_config is not None:
        try:
            check_overlay(scenario_config.file, description.scenarios, "")
        except ValueError as exc:
            raise PlanError(f"{scenario_config.path}: {exc} (of {path.name})") from None
        overlays.append(scenario_config.file)
    model_name = model or description.model
    scenarios = {
        name: _run_scenario(name, spec, overlays, path)
        for name, spec in description.scenarios.items()
    }
    if not any(sc.weight > 0 for sc in scenarios.values()):
        raise PlanError(f"{path}: no scenario with a weight > 0 in this run")
    for sc in scenarios.values():
        _check_templates(sc, path, model_name)
    gates = [g for o in overlays for g in o.gates]
    seed = scenario_config.file.seed if scenario_config is not None else 42
    open_model = scenario_config.file.open_model if scenario_config is not None else OpenModel()
    if open_model.scenario and open_model.scenario not in scenarios:
        raise PlanError(
            f'{scenario_config.path if scenario_config else path}: field "open_model.scenario": '
            f"unknown scenario {open_model.scenario!r}, expected one of {', '.join(scenarios)}"
        )
    return ApiPlan(description, path, scenarios, seed, model_name, tuple(gates), open_model)


def _run_scenario(name: str, spec: Scenario, overlays: list[Overlay], path: Path) -> RunScenario:
    weight = spec.weight
    think = spec.think_time or DEFAULT_THINK
    values = dict(spec.vars)
    share = spec.stream.share if spec.stream is not None else 0.0
    timeout = spec.timeout_s
    job = spec.job
    for overlay in overlays:
        if overlay.weights is not None:
            weight = overlay.weights.get(name, 0.0)
        think = overlay.think_time or think
        values.update(overlay.vars)
        share = overlay.stream_share.get(name, share)
        timeout = overlay.timeout_s.get(name, timeout)
        if job is not None and name in overlay.deadline_s:
            job = job.model_copy(update={"deadline_s": overlay.deadline_s[name]})
    if spec.stream is None:
        share = 0.0
    dataset = _dataset(spec, name, path)  # every scenario: its user class may be picked
    return RunScenario(name, spec, weight, think, values, share, timeout, job, dataset)


def _dataset(spec: Scenario, name: str, path: Path) -> Dataset | SyntheticDataset | None:
    if spec.synthetic is not None:
        try:
            return load_synthetic(spec.synthetic, path.parent)
        except SyntheticError as exc:
            raise PlanError(
                f'{path}: field "scenarios.{name}.synthetic.{exc.field}": {exc}'
            ) from None
    if not spec.dataset:
        return None
    where = f'{path}: field "scenarios.{name}.dataset"'
    given = spec.dataset
    try:
        if "/" in given or given.endswith(".jsonl"):
            target = (path.parent / given).resolve()
        else:
            target = find("datasets", given)
        return load_dataset(target)
    except (DatasetError, ConfigError) as exc:
        raise PlanError(f"{where}: {exc}") from None


def _check_templates(sc: RunScenario, path: Path, model: str) -> None:
    """Every template name must come from the dataset, the vars or the built-ins."""
    available = set(sc.vars) | BUILTINS | (sc.dataset.fields if sc.dataset else set())
    spec = sc.spec
    parts: dict[str, Any] = {
        "path": spec.path,
        "query": spec.query,
        "headers": spec.headers,
        "body": spec.body,
    }
    if spec.stream is not None:
        parts["stream.body"] = spec.stream.body
        if spec.stream.body and not isinstance(spec.body, dict):
            raise PlanError(
                f'{path}: field "scenarios.{sc.name}.stream.body": the scenario\'s body must be '
                "a table to merge it into"
            )
    if spec.job is not None:
        with_id = available | {spec.job.id_name}
        job_parts = {"job.poll": spec.job.poll}
        if spec.job.cancel is not None:
            job_parts["job.cancel.path"] = spec.job.cancel.path
        for where, template in job_parts.items():
            _known(names(template), with_id, path, f"scenarios.{sc.name}.{where}")
    for number, check in enumerate(spec.success):
        if check.function is not None:
            try:
                load_function(check.function)
            except JudgeError as exc:
                raise PlanError(
                    f'{path}: field "scenarios.{sc.name}.success.{number}.function": {exc}'
                ) from None
    for where, template in parts.items():
        used = names(template)
        _known(used, available, path, f"scenarios.{sc.name}.{where}")
        if "model" in used and not model:
            raise PlanError(
                f'{path}: field "scenarios.{sc.name}.{where}": uses {{model}} but no model is '
                'set, expected model = "..." in the description or --model NAME'
            )


def _known(used: set[str], available: set[str], path: Path, where: str) -> None:
    unknown = sorted(used - available)
    if unknown:
        raise PlanError(
            f'{path}: field "{where}": unknown template name {unknown[0]!r}, expected one of '
            f"{', '.join(sorted(available))} (dataset fields, vars, model, unique)"
        )
