"""Scenario configs (overlays), plan resolution, datasets and open-model arrivals: loading,
errors in one line naming file and field, determinism."""

from __future__ import annotations

import importlib.util
import json
import random
import re
import statistics
from pathlib import Path
from types import ModuleType

import pytest

from agentload.apis.load import DescriptionError, load_description
from agentload.errors import ConfigError
from agentload.scenarios.arrivals import ArrivalSchedule, pool_size, resolve_plan
from agentload.scenarios.config import OpenModel, ScenarioConfigError, load_scenario_config
from agentload.scenarios.datasets import DatasetError, load_dataset
from agentload.scenarios.plan import ApiPlan, PlanError, resolve
from tests.support import ROOT

DATA = ROOT / "agentload" / "data"
SCENARIOS_DIR = ROOT / "scenarios"
DESCRIPTION, DESCRIPTION_PATH = load_description("agent-v1")
# A description of one code-gen scenario whose dataset sits next to it (tests write both).
CODEGEN_API = """
name = "one"
[scenarios.codegen]
method = "POST"
path = "/v1/agents/codegen"
dataset = "@DATASET@"
body = { prompt = "{prompt}" }
"""


def _build_prompts() -> ModuleType:
    """scripts/build_prompts.py, imported from its path (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "build_prompts", ROOT / "scripts/build_prompts.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a TOML scenario config and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "scenario.toml"
        path.write_text(text)
        return path

    return write


def _plan(config: Path | None = None, phase: str | None = None) -> ApiPlan:
    """agent-v1 resolved with ``phase`` and the scenario config at ``config``."""
    loaded = load_scenario_config(config) if config is not None else None
    return resolve(DESCRIPTION, DESCRIPTION_PATH, phase=phase, scenario_config=loaded)


def _codegen_api(tmp_path: Path, dataset: str) -> Path:
    path = tmp_path / "one.toml"
    path.write_text(CODEGEN_API.replace("@DATASET@", dataset))
    return path


def _resolve_file(path: Path) -> ApiPlan:
    description, where = load_description(path)
    return resolve(description, where)


@pytest.mark.parametrize("name", ["default", "smoke", "load", "stress"])
def test_shipped_configs_load_with_their_datasets(name: str) -> None:
    """Each shipped config with agent-v1 and its phase resolves with the shipped datasets."""
    config = SCENARIOS_DIR / f"{name}.toml"
    plan = _plan(config, None if name == "default" else name)
    assert any(weight > 0 for weight in plan.weights().values())
    every = _plan(config)  # without the phase: every scenario runs, every dataset is loaded
    prompts, questions = every.scenarios["codegen"].dataset, every.scenarios["research"].dataset
    assert prompts is not None and len(prompts) >= 300
    assert questions is not None and len(questions) >= 50


def test_shipped_configs_cover_the_phases_scenarios() -> None:
    """agent-v1's phases with the shipped configs run the scenarios each phase is for."""
    names = ("default", "smoke", "load", "stress")
    plans = {n: _plan(SCENARIOS_DIR / f"{n}.toml", None if n == "default" else n) for n in names}
    weights = {name: {k for k, w in p.weights().items() if w} for name, p in plans.items()}
    assert weights == {
        "default": {"status", "codegen", "research"},
        "smoke": {"status", "codegen"},
        "load": {"codegen", "research"},
        "stress": {"codegen"},
    }
    stress = plans["stress"].scenarios["codegen"]
    assert stress.think_time.max_s == 0 and stress.stream_share == 0


def test_unknown_scenario_in_weights_names_file_and_field(write_config) -> None:
    path = write_config("weights = {search = 1}\n")
    with pytest.raises(PlanError) as err:
        _plan(path)
    assert str(err.value) == (
        f"{path}: field \"weights\": unknown scenario 'search', expected one of "
        "status, codegen, research (of agent-v1.toml)"
    )


@pytest.mark.parametrize("field", ["stream_share", "timeout_s", "deadline_s"])
def test_unknown_scenario_in_any_per_scenario_table_names_the_field(write_config, field) -> None:
    path = write_config(f"{field} = {{search = 1}}\n")
    with pytest.raises(
        PlanError, match=f"^{re.escape(str(path))}: field \"{field}\": unknown scenario 'search'"
    ):
        _plan(path)


def test_missing_dataset_names_file_and_field(tmp_path: Path) -> None:
    path = _codegen_api(tmp_path, "nowhere.jsonl")
    with pytest.raises(PlanError) as err:
        _resolve_file(path)
    message = str(err.value)
    assert message.startswith(f'{path}: field "scenarios.codegen.dataset": dataset ')
    assert "nowhere.jsonl not found" in message and "\n" not in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("-1", "got -1, expected a number >= 0"), ('"heavy"', "got 'heavy', expected a number")],
)
def test_bad_weight_names_file_and_field(write_config, value: str, expected: str) -> None:
    path = write_config(f"weights = {{status = {value}}}\n")
    with pytest.raises(ScenarioConfigError) as err:
        load_scenario_config(path)
    assert str(err.value) == f'{path}: field "weights.status": {expected}'


def test_all_weights_zero_is_rejected(write_config) -> None:
    path = write_config("weights = {status = 0}\n")
    with pytest.raises(
        PlanError, match=f'^{re.escape(str(path))}: field "weights": no scenario with a weight'
    ):
        _plan(path)


def test_think_time_max_below_min_is_rejected(write_config) -> None:
    path = write_config("[think_time]\nmin_s = 2\nmax_s = 1\n")
    expected = r'"think_time": .*max_s \(1\) must be >= min_s \(2\)'
    with pytest.raises(ScenarioConfigError, match=expected):
        load_scenario_config(path)


def test_misspelt_field_and_broken_toml_are_one_line_errors(write_config, tmp_path: Path) -> None:
    path = write_config("[think_time]\nmni_s = 2\n")
    with pytest.raises(ScenarioConfigError, match='"think_time.mni_s": unknown field'):
        load_scenario_config(path)
    path = write_config("wieghts = {status = 2}\n")
    with pytest.raises(ScenarioConfigError, match='"wieghts": unknown field'):
        load_scenario_config(path)
    path.write_text("[think_time\n")
    with pytest.raises(ScenarioConfigError, match="not a readable TOML file") as err:
        load_scenario_config(path)
    assert "\n" not in str(err.value)
    with pytest.raises(ScenarioConfigError, match="scenario config not found"):
        load_scenario_config(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("line", "expected"),
    [("[1, 2]", "expected a non-empty JSON object"), ("{oops", "not JSON, expected an object")],
)
def test_a_malformed_dataset_line_is_named(tmp_path: Path, line: str, expected: str) -> None:
    (tmp_path / "prompts.jsonl").write_text(f'{{"prompt": "ok"}}\n{line}\n')
    with pytest.raises(DatasetError, match=f"prompts.jsonl line 2: {expected}"):
        load_dataset(tmp_path / "prompts.jsonl")
    path = _codegen_api(tmp_path, "prompts.jsonl")
    with pytest.raises(PlanError) as err:
        _resolve_file(path)
    assert str(err.value).startswith(f'{path}: field "scenarios.codegen.dataset": ')
    assert f"prompts.jsonl line 2: {expected}" in str(err.value)


def test_a_dataset_row_without_a_template_field_names_the_template(tmp_path: Path) -> None:
    """A row lacking the field a template uses ({prompt}) stops the plan at the body field."""
    (tmp_path / "prompts.jsonl").write_text('{"prompt": "ok"}\n{"text": "no prompt"}\n')
    path = _codegen_api(tmp_path, "prompts.jsonl")
    with pytest.raises(PlanError) as err:
        _resolve_file(path)
    assert str(err.value).startswith(
        f"{path}: field \"scenarios.codegen.body\": unknown template name 'prompt'"
    )


def test_config_errors_are_the_runners_config_errors() -> None:
    for error in (ScenarioConfigError, PlanError, DescriptionError):
        assert issubclass(error, ConfigError)


def test_dataset_draws_repeat_under_the_same_seed() -> None:
    codegen = _plan(SCENARIOS_DIR / "default.toml").scenarios["codegen"]
    assert codegen.dataset is not None
    first = [codegen.dataset.pick(random.Random("42:0:1")) for _ in range(5)]
    again = [codegen.dataset.pick(random.Random("42:0:1")) for _ in range(5)]
    assert first == again
    rng_a, rng_b = random.Random("42:0:1"), random.Random("42:0:1")
    calls = [codegen.values(rng_a, "") for _ in range(5)]
    assert calls == [codegen.values(rng_b, "") for _ in range(5)]
    assert len({call["unique"] for call in calls}) == 5  # the request tag differs per call


def test_scenario_config_overlays_the_phase_and_the_description(write_config) -> None:
    """vars, stream_share, timeout_s and deadline_s in a config win over phase and description."""
    path = write_config(
        "seed = 7\nweights = {codegen = 2, research = 1}\nvars = {max_tokens = 64}\n"
        "stream_share = {codegen = 1}\ntimeout_s = {codegen = 5}\ndeadline_s = {research = 0.5}\n"
    )
    plan = _plan(path, "smoke")
    assert plan.seed == 7 and plan.weights() == {"status": 0, "codegen": 2, "research": 1}
    codegen, research = plan.scenarios["codegen"], plan.scenarios["research"]
    assert codegen.vars["max_tokens"] == 64 and codegen.stream_share == 1
    assert codegen.timeout_s == 5
    assert research.job is not None and research.job.deadline_s == 0.5
    assert plan.gates == ("p95(GET /v1/status) < 200ms",)  # the phase's, the config adds none


def test_prompt_dataset_is_the_generators_output_with_varied_lengths() -> None:
    lines = (DATA / "datasets" / "codegen_prompts.jsonl").read_text().splitlines()
    prompts = [json.loads(line)["prompt"] for line in lines]
    assert prompts == _build_prompts().build_prompts()
    assert len(set(prompts)) == len(prompts) >= 300
    lengths = sorted(len(p) for p in prompts)
    assert lengths[0] < 120 and lengths[-1] > 400


def test_open_model_plan_sizes_the_pool_and_takes_the_runners_override() -> None:
    plan = resolve_plan(OpenModel(rate_per_s=50, expected_latency_s=0.1))
    assert plan.users == pool_size(50, 0.1) == 20
    override = resolve_plan(OpenModel(), json.dumps({"rate_per_s": 8, "users": 4, "stages": []}))
    assert (override.rate_per_s, override.users, override.per_user_rate) == (8, 4, 2)


def test_open_model_bad_override_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match='open_model field "rate_per_s": got -3'):
        resolve_plan(OpenModel(), '{"rate_per_s": -3}')
    with pytest.raises(ConfigError, match="AGENTLOAD_SHAPE: not JSON"):
        resolve_plan(OpenModel(), "{rate")


def test_open_model_scenario_must_be_one_of_the_descriptions(write_config) -> None:
    path = write_config('[open_model]\nscenario = "search"\n')
    with pytest.raises(
        PlanError, match=f'^{re.escape(str(path))}: field "open_model.scenario": unknown scenario'
    ):
        _plan(path)
    path = write_config('[open_model]\nscenario = "research"\nrate_per_s = 3\n')
    plan = _plan(path)
    assert (plan.open_model.scenario, plan.open_model.rate_per_s) == ("research", 3)


@pytest.mark.parametrize("arrival", ["constant", "poisson"])
def test_arrival_schedules_keep_their_mean_rate(arrival: str) -> None:
    schedule = ArrivalSchedule(arrival, 10.0, random.Random(7))  # type: ignore[arg-type]
    offsets = [schedule.next_offset() for _ in range(2000)]
    gaps = [b - a for a, b in zip(offsets, offsets[1:], strict=False)]
    assert all(gap >= 0 for gap in gaps)
    assert statistics.fmean(gaps) == pytest.approx(0.1, rel=0.08)
    if arrival == "constant":
        assert max(gaps) - min(gaps) < 1e-9
