"""Phase profiles: the shipped defaults, CLI overrides, and one-line errors for bad files."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentload.errors import ConfigError
from agentload.gates import parse_gates
from agentload.profiles.load import load_profile, profile_from_dict, scenario_config_path
from agentload.profiles.model import PHASES, PROFILES_DIR
from agentload.scenarios.config import load_scenario_config
from tests.support import ROOT

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("phase", PHASES)
def test_every_shipped_profile_loads_and_points_at_existing_files(phase):
    profile = load_profile(phase)
    assert profile.phase == phase
    assert scenario_config_path(profile).is_file()
    assert profile.gates
    load_scenario_config(scenario_config_path(profile))


def test_smoke_defaults_follow_issue_4():
    smoke = load_profile("smoke")
    assert (smoke.users, smoke.duration_s, smoke.shape) == (10, 300, "none")
    assert smoke.scenario_config == "smoke"
    assert smoke.user_classes == ["MixedAgentUser"]
    # stock gates fit any API: every entry, every scenario (the description adds its own)
    assert {"p95(*) < 5s", "error_rate(*) < 1%", "agent_success_rate(*) >= 95%"} <= set(smoke.gates)
    assert "error_rate < 1%" in smoke.gates


def test_load_ramps_to_100_users_in_15_minutes_then_holds():
    load = load_profile("load")
    ramp_end = 0.0
    for stage in load.stages:
        ramp_end += stage.duration_s
        if stage.users == 100:
            break
    assert ramp_end == 15 * 60 and load.peak_users == 100
    assert load.stages[-1].users == 100
    assert load.duration_s == sum(s.duration_s for s in load.stages)


def test_duration_override_scales_the_stage_table_proportionally():
    load = load_profile("load", {"duration": "75s", "users": 10, "spawn_rate": 4})
    assert [s.users for s in load.stages] == [2, 4, 6, 8, 10, 10]
    assert sum(s.duration_s for s in load.stages) == pytest.approx(75)
    assert load.stages[0].duration_s == pytest.approx(9) and load.duration_s == 75
    assert {s.spawn_rate for s in load.stages} == {4}
    assert load.shape_table()["stages"][0] == {"duration": 9.0, "users": 2, "spawn_rate": 4.0}


def test_stress_overrides_fit_all_steps_and_reach_the_requested_users():
    stress = load_profile("stress", {"duration": "60s", "users": 12})
    assert stress.stress is not None
    assert stress.stress.max_steps * stress.stress.step_duration_s == pytest.approx(60)
    assert stress.peak_users >= 12
    table = stress.shape_table()
    assert table["stress"]["max_error_rate"] == 0.05 and table["stress"]["step_duration_s"] == 5


def test_profile_phase_splits_duration_between_knee_search_and_hold():
    profile = load_profile("profile", {"duration": "90s"})
    assert profile.profile is not None and profile.stress is not None
    assert profile.profile.hold_s == pytest.approx(30)
    assert profile.stress.max_steps * profile.stress.step_duration_s == pytest.approx(60)


def test_gate_overrides_are_added_and_checked():
    smoke = load_profile("smoke", {"gates": ["rps > 1"]})
    assert smoke.gates[-1] == "rps > 1" and len(smoke.gates) == 5
    with pytest.raises(ConfigError, match="malformed"):
        load_profile("smoke", {"gates": ["rps >> 1"]})


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"users": 0}, "--users: got 0"),
        ({"users": "ten"}, "--users: got 'ten'"),
        ({"spawn_rate": -1}, "--spawn-rate: got -1"),
        ({"duration": "soon"}, "--duration: got 'soon'"),
        ({"duration": "0s"}, "above 0"),
        ({"colour": "red"}, "unknown override"),
    ],
)
def test_bad_overrides_are_config_errors_quoting_the_value(overrides, needle):
    with pytest.raises(ConfigError, match=needle):
        load_profile("smoke", overrides)


def test_unknown_phase_lists_the_phases():
    with pytest.raises(
        ConfigError, match="unknown profile 'smok', expected a path or one of smoke, load"
    ):
        load_profile("smok")


def _write(tmp_path, text):
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("users = ", "invalid TOML"),
        ("users = 'ten'", "field 'users': got 'ten'"),
        ("shape = 'zigzag'", "field 'shape': got 'zigzag'"),
        ("duration = 'soon'", "field 'duration': got 'soon', expected a duration"),
        ("userz = 3", "unknown field 'userz'"),
        ("gates = ['p95 < 3ms']", "field 'gates': gate 'p95 < 3ms'"),
        ("shape = 'stages'", 'shape "stages" needs a [[stages]] table'),
    ],
)
def test_bad_profile_files_name_the_file_and_the_field(tmp_path, text, needle):
    base = tomllib.loads((PROFILES_DIR / "smoke.toml").read_text())
    lines = [f"{k} = {v!r}" if not isinstance(v, dict) else "" for k, v in base.items()]
    key = text.split("=")[0].strip()
    body = "\n".join(ln for ln in lines if ln and not ln.startswith(f"{key} ")) + "\n" + text
    path = _write(tmp_path, body.replace("'", '"').replace("True", "true"))
    with pytest.raises(ConfigError) as err:
        load_profile(path)
    assert str(path) in str(err.value) and needle.replace("'", '"') in str(err.value).replace(
        "'", '"'
    )


def test_missing_profile_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"^profile .*none.toml. not found"):
        load_profile(tmp_path / "none.toml")


_TOML_VALUES = st.recursive(
    st.one_of(
        st.integers(-5, 10**6),
        st.floats(allow_nan=False),
        st.booleans(),
        st.text(max_size=12),
        st.sampled_from(["5m", "30s", "stages", "stress", "none"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_KEYS = st.sampled_from(
    [
        "phase",
        "users",
        "spawn_rate",
        "duration",
        "scenario_config",
        "user_classes",
        "shape",
        "stages",
        "stress",
        "profile",
        "gates",
        "abort",
        "description",
        "extra",
    ]
)


@FUZZ
@given(st.dictionaries(_KEYS, _TOML_VALUES, max_size=10))
def test_any_profile_mapping_loads_or_raises_one_line_config_error(data):
    try:
        profile_from_dict(data, source="fuzz.toml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.toml") and "\n" not in str(exc)


@FUZZ
@given(st.text(max_size=200))
def test_any_profile_text_loads_or_raises_one_line_config_error(tmp_path, text):
    try:
        load_profile(_write(tmp_path, text))
    except ConfigError as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(st.dictionaries(_KEYS, _TOML_VALUES, max_size=6), st.sampled_from(PHASES))
def test_any_overrides_apply_or_raise_one_line_config_error(overrides, phase):
    picked = {k: v for k, v in overrides.items() if k in ("users", "duration", "spawn_rate")}
    try:
        load_profile(phase, {k.replace("duration_s", "duration"): v for k, v in picked.items()})
    except ConfigError as exc:
        assert "\n" not in str(exc)


_SCENARIO_KEYS = st.sampled_from(
    [
        "scenarios",
        "status",
        "codegen",
        "research",
        "weight",
        "think_time",
        "dataset",
        "stream_share",
        "min",
        "max",
        "open_model",
        "timeout_s",
        "poll_interval_s",
    ]
)
_SCENARIO_TREE = st.recursive(
    st.one_of(
        st.integers(-3, 100),
        st.floats(allow_nan=False),
        st.booleans(),
        st.text(max_size=10),
        st.just("codegen_prompts"),
    ),
    lambda inner: st.dictionaries(_SCENARIO_KEYS, inner, max_size=4),
    max_leaves=10,
)


def _toml(value, prefix=""):
    """A small TOML writer for the fuzzed trees (tables as dotted keys)."""
    out = []
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            out.extend(_toml(item, f"{name}."))
        elif isinstance(item, bool):
            out.append(f"{name} = {'true' if item else 'false'}")
        elif isinstance(item, str):
            out.append(f"{name} = {item!r}".replace("'", '"') if '"' not in item else f"{name} = 1")
        else:
            out.append(f"{name} = {item!r}".replace("inf", "inf"))
    return out


@FUZZ
@given(st.dictionaries(_SCENARIO_KEYS, _SCENARIO_TREE, max_size=4))
def test_any_scenario_config_loads_or_raises_one_line_config_error(tmp_path, tree):
    path = tmp_path / "fuzz.toml"
    path.write_text("\n".join(_toml(tree)), encoding="utf-8")
    (tmp_path / "data").mkdir(exist_ok=True)
    try:
        load_scenario_config(path)
    except ConfigError as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(st.text(max_size=200))
def test_any_scenario_text_loads_or_raises_one_line_config_error(tmp_path, text):
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_scenario_config(path)
    except ConfigError as exc:
        assert "\n" not in str(exc)


def _leaf_paths(tree, prefix=()):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaf_paths(value, (*prefix, key))
        else:
            yield (*prefix, key)


def _mutated(tree, path, value):
    copy = {k: (dict(v) if isinstance(v, dict) else v) for k, v in tree.items()}
    node = copy
    for key in path[:-1]:
        node[key] = dict(node[key])
        node = node[key]
    node[path[-1]] = value
    return copy


_LEAF = st.one_of(
    st.integers(-10, 10**7),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=12),
    st.none(),
    st.lists(st.text(max_size=6), max_size=3),
)


@FUZZ
@given(st.sampled_from(PHASES), st.data())
def test_a_shipped_profile_with_one_field_changed_loads_or_raises_naming_the_field(phase, data):
    tree = tomllib.loads((PROFILES_DIR / f"{phase}.toml").read_text())
    path = data.draw(st.sampled_from(list(_leaf_paths(tree))))
    value = data.draw(_LEAF)
    try:
        profile_from_dict(_mutated(tree, path, value), source="mut.toml")
    except ConfigError as exc:
        assert str(exc).startswith("mut.toml: ") and "\n" not in str(exc)


@FUZZ
@given(st.data())
def test_a_shipped_scenario_config_with_one_field_changed_loads_or_raises_cleanly(tmp_path, data):
    source = ROOT / "scenarios" / "smoke.toml"
    tree = tomllib.loads(source.read_text())
    path = data.draw(st.sampled_from(list(_leaf_paths(tree))))
    value = data.draw(
        st.one_of(
            st.integers(-10, 10**7),
            st.floats(allow_nan=False),
            st.booleans(),
            st.text(alphabet="abc/._ 0", max_size=12),
        )
    )
    target = tmp_path / "fuzz.toml"
    target.write_text("\n".join(_toml(_mutated(tree, path, value))), encoding="utf-8")
    if not (tmp_path / "data").exists():
        (tmp_path / "data").symlink_to(ROOT / "agentload/data/datasets")
    try:
        load_scenario_config(target)
    except ConfigError as exc:
        assert "\n" not in str(exc)


@pytest.mark.parametrize("phase", PHASES)
def test_shipped_gates_name_no_api_and_descriptions_name_their_own_entries(phase):
    """Stock profiles gate every entry (``*``) or the totals, never one API's routes; a shipped
    description's phase gates name entries its own scenarios produce."""
    for gate in parse_gates(load_profile(phase).gates):
        assert gate.entry in (None, "*"), gate.expr
    from agentload.apis.load import load_description

    for api in ("agent-v1", "openai-chat", "langgraph"):
        description, _ = load_description(api)
        entries = {sc.entry for sc in description.scenarios.values()}
        overlay = description.phases.get(phase)
        for gate in parse_gates(overlay.gates if overlay else []):
            if gate.entry and gate.metric != "agent_success_rate":
                assert gate.entry in entries, (api, gate.expr)
