"""Scenario configs, datasets and open-model arrivals: loading, errors in one line, determinism."""

from __future__ import annotations

import json
import random
import statistics
from pathlib import Path

import pytest

from agentload.errors import ConfigError
from agentload.scenarios.arrivals import ArrivalSchedule, pool_size, resolve_plan
from agentload.scenarios.config import OpenModel, ScenarioConfigError, load_scenario_config
from agentload.scenarios.promptgen import build_prompts
from tests.support import ROOT

SCENARIOS_DIR = ROOT / "scenarios"


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a TOML config next to a small dataset and return its path."""
    (tmp_path / "prompts.jsonl").write_text('{"prompt": "Write a function."}\n')

    def write(text: str) -> Path:
        path = tmp_path / "scenario.toml"
        path.write_text(text)
        return path

    return write


@pytest.mark.parametrize("name", ["default", "smoke", "load", "stress"])
def test_shipped_configs_load_with_their_datasets(name: str) -> None:
    config = load_scenario_config(SCENARIOS_DIR / f"{name}.toml")
    assert any(weight > 0 for weight in config.weights().values())
    assert config.prompts is not None and len(config.prompts) >= 300
    assert config.questions is not None and len(config.questions) >= 50


def test_shipped_configs_cover_the_phases_scenarios() -> None:
    names = ("default", "smoke", "load", "stress")
    configs = {n: load_scenario_config(SCENARIOS_DIR / f"{n}.toml") for n in names}
    weights = {name: {k for k, w in c.weights().items() if w} for name, c in configs.items()}
    assert weights == {
        "default": {"status", "codegen", "research"},
        "smoke": {"status", "codegen"},
        "load": {"codegen", "research"},
        "stress": {"codegen"},
    }
    stress = configs["stress"]
    assert stress.file.think_time.max_s == 0 and stress.codegen.stream_share == 0


def test_unknown_scenario_names_file_and_field(write_config) -> None:
    path = write_config("[scenarios.search]\nweight = 1\n")
    with pytest.raises(ScenarioConfigError) as err:
        load_scenario_config(path)
    assert str(err.value) == (
        f"{path}: field \"scenarios.search\": unknown scenario 'search', expected one of "
        "status, codegen, research"
    )


def test_missing_dataset_names_file_and_field(write_config) -> None:
    path = write_config('[scenarios.codegen]\ndataset = "nowhere.jsonl"\n')
    with pytest.raises(ScenarioConfigError) as err:
        load_scenario_config(path)
    message = str(err.value)
    assert message.startswith(f'{path}: field "scenarios.codegen.dataset": dataset ')
    assert "nowhere.jsonl not found" in message and "\n" not in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("-1", "got -1, expected a number >= 0"), ('"heavy"', "got 'heavy', expected a number")],
)
def test_bad_weight_names_file_and_field(write_config, value: str, expected: str) -> None:
    path = write_config(f"[scenarios.status]\nweight = {value}\n")
    with pytest.raises(ScenarioConfigError) as err:
        load_scenario_config(path)
    assert str(err.value) == f'{path}: field "scenarios.status.weight": {expected}'


def test_all_weights_zero_is_rejected(write_config) -> None:
    path = write_config("[scenarios.status]\nweight = 0\n")
    with pytest.raises(ScenarioConfigError, match='field "scenarios": no scenario with a weight'):
        load_scenario_config(path)


def test_think_time_max_below_min_is_rejected(write_config) -> None:
    path = write_config("[think_time]\nmin_s = 2\nmax_s = 1\n[scenarios.status]\n")
    expected = r'"think_time": .*max_s \(1.0\) must be >= min_s'
    with pytest.raises(ScenarioConfigError, match=expected):
        load_scenario_config(path)


def test_misspelt_field_and_broken_toml_are_one_line_errors(write_config, tmp_path: Path) -> None:
    path = write_config("[scenarios.status]\nwieght = 2\n")
    with pytest.raises(ScenarioConfigError, match='"scenarios.status.wieght": unknown field'):
        load_scenario_config(path)
    path.write_text("[scenarios.status\n")
    with pytest.raises(ScenarioConfigError, match="not a readable TOML file"):
        load_scenario_config(path)
    with pytest.raises(ScenarioConfigError, match="scenario config not found"):
        load_scenario_config(tmp_path / "absent.toml")


def test_a_malformed_dataset_line_is_named(write_config, tmp_path: Path) -> None:
    (tmp_path / "prompts.jsonl").write_text('{"prompt": "ok"}\n{"text": "no prompt"}\n')
    path = write_config('[scenarios.codegen]\ndataset = "prompts.jsonl"\n')
    with pytest.raises(ScenarioConfigError, match="prompts.jsonl line 2: expected an object"):
        load_scenario_config(path)


def test_config_errors_are_the_runners_config_errors() -> None:
    assert issubclass(ScenarioConfigError, ConfigError)


def test_dataset_draws_repeat_under_the_same_seed() -> None:
    config = load_scenario_config(SCENARIOS_DIR / "default.toml")
    assert config.prompts is not None
    first = [config.prompts.pick(random.Random("42:0:1")) for _ in range(5)]
    again = [config.prompts.pick(random.Random("42:0:1")) for _ in range(5)]
    assert first == again


def test_prompt_dataset_is_the_generators_output_with_varied_lengths() -> None:
    lines = (SCENARIOS_DIR / "data" / "codegen_prompts.jsonl").read_text().splitlines()
    prompts = [json.loads(line)["prompt"] for line in lines]
    assert prompts == build_prompts()
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


@pytest.mark.parametrize("arrival", ["constant", "poisson"])
def test_arrival_schedules_keep_their_mean_rate(arrival: str) -> None:
    schedule = ArrivalSchedule(arrival, 10.0, random.Random(7))  # type: ignore[arg-type]
    offsets = [schedule.next_offset() for _ in range(2000)]
    gaps = [b - a for a, b in zip(offsets, offsets[1:], strict=False)]
    assert all(gap >= 0 for gap in gaps)
    assert statistics.fmean(gaps) == pytest.approx(0.1, rel=0.08)
    if arrival == "constant":
        assert max(gaps) - min(gaps) < 1e-9
