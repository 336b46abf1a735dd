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
from typing import Any, TypeVar

from agentload.apis.judges import JudgeError, load_function
from agentload.apis.model import Description, Overlay, Scenario, Step, ThinkTime, check_overlay
from agentload.apis.request import Call, Job
from agentload.errors import ConfigError
from agentload.redaction import add_secret
from agentload.scenarios.config import OpenModel, ScenarioConfig
from agentload.scenarios.datasets import Dataset, DatasetError, load_dataset
from agentload.scenarios.names import BUILTINS, NameProblem, check_call, check_session, parse_vars
from agentload.scenarios.synthetic import SyntheticDataset, SyntheticError, load_synthetic
from agentload.stock.lookup import find

DEFAULT_THINK = ThinkTime()
C = TypeVar("C", bound=Call)


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
    variables: Mapping[str, Any] = field(default_factory=dict)

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
        add_secret(secret)  # masked wherever a server sends it back
        if auth.kind == "bearer":
            headers["Authorization"] = f"Bearer {secret}"
        else:
            headers[auth.header] = secret
        return headers

    def entries(self) -> list[str]:
        """Every Locust entry this run's users may record, each once, scenarios in file order
        (those of weight 0 too: their user classes may run): each call's ``METHOD /path``
        (every step of a session), a job's poll and cancel, ``TTFT``/``TPOT <scenario>`` for
        a streamed call or step, ``TTC <scenario>`` for a job or a session."""
        found: dict[str, None] = {}
        for name, sc in self.scenarios.items():
            calls: list[Call] = [sc.spec] if sc.spec.steps is None else [*_steps(sc.spec)]
            for call in calls:
                found[call.entry] = None
                if call.job is not None:
                    found[call.job.poll_entry] = None
                    if call.job.cancel is not None:
                        found[f"{call.job.cancel.method} {call.job.cancel.path}"] = None
            if any(call.stream is not None for call in calls):
                found.update({f"TTFT {name}": None, f"TPOT {name}": None})
            if sc.spec.steps is not None or sc.spec.job is not None:
                found[f"TTC {name}"] = None
        return list(found)

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
    variables: Mapping[str, str] | None = None,
) -> ApiPlan:
    """The run's scenarios (see the module docstring); PlanError naming file and field.
    ``variables`` (``--var NAME=VALUE``) override every scenario's ``vars``."""
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
    try:
        given = parse_vars(variables or {}, description)
    except ValueError as exc:
        raise PlanError(f"{exc} (in {path})") from None
    scenarios = {
        name: _run_scenario(name, spec, overlays, path, given)
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
    return ApiPlan(description, path, scenarios, seed, model_name, tuple(gates), open_model, given)


def _run_scenario(
    name: str, spec: Scenario, overlays: list[Overlay], path: Path, given: Mapping[str, Any]
) -> RunScenario:
    weight = spec.weight
    think = spec.think_time or DEFAULT_THINK
    values = dict(spec.vars)
    share = spec.stream.share if spec.stream is not None else 0.0
    timeout: float | None = None
    deadline: float | None = None
    for overlay in overlays:
        if overlay.weights is not None:
            weight = overlay.weights.get(name, 0.0)
        think = overlay.think_time or think
        values.update(overlay.vars)
        share = overlay.stream_share.get(name, share)
        timeout = overlay.timeout_s.get(name, timeout)
        deadline = overlay.deadline_s.get(name, deadline)
    values.update(given)
    if spec.stream is None:
        share = 0.0
    spec = _with_limits(spec, timeout, deadline)
    job = spec.job
    longest = max([spec.timeout_s] + [step.timeout_s for step in _steps(spec)])
    dataset = _dataset(spec, name, path)  # every scenario: its user class may be picked
    return RunScenario(name, spec, weight, think, values, share, longest, job, dataset)


def _steps(spec: Scenario) -> list[Step]:
    return [*spec.setup, *(spec.steps or []), *spec.teardown]


def _with_limits(spec: Scenario, timeout: float | None, deadline: float | None) -> Scenario:
    """``spec`` with an overlay's ``timeout_s`` and job ``deadline_s`` on its call or steps."""

    def limited(call: C) -> C:
        update: dict[str, Any] = {} if timeout is None else {"timeout_s": timeout}
        if deadline is not None and call.job is not None:
            update["job"] = call.job.model_copy(update={"deadline_s": deadline})
        return call.model_copy(update=update) if update else call

    if spec.steps is None:
        return limited(spec)
    groups = {g: [limited(s) for s in getattr(spec, g)] for g in ("setup", "steps", "teardown")}
    return spec.model_copy(update=groups)


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
    """Every template name must have a value when it is filled (:mod:`.names`); every function
    judge must import."""
    available = set(sc.vars) | BUILTINS | (sc.dataset.fields if sc.dataset else set())
    spec, where = sc.spec, f"scenarios.{sc.name}"
    try:
        if spec.steps is None:
            used = check_call(spec, available, where)
        else:
            used = check_session(spec, available, where)
    except NameProblem as exc:
        raise PlanError(f'{path}: field "{exc.field}": {exc}') from None
    if "model" in used and not model:
        raise PlanError(
            f'{path}: field "{where}": uses {{model}} but no model is set, expected '
            'model = "..." in the description or --model NAME'
        )
    calls = [("", spec)] if spec.steps is None else [
        (f"{group}.{i}.", step)
        for group in ("setup", "steps", "teardown")
        for i, step in enumerate(getattr(spec, group))
    ]  # fmt: skip
    for prefix, call in calls:
        for number, check in enumerate(call.success):
            if check.function is None:
                continue
            try:
                load_function(check.function)
            except JudgeError as exc:
                raise PlanError(
                    f'{path}: field "{where}.{prefix}success.{number}.function": {exc}'
                ) from None
