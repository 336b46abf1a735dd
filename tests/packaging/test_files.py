"""The stock-file lookup: an explicit path as given, else ./<kind>/<name>, else the package's."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentload.errors import ConfigError
from agentload.profiles.load import load_profile, scenario_config_path
from agentload.profiles.model import PHASES
from agentload.stock.lookup import KINDS, find, is_explicit_path, stock_dir, stock_names


@pytest.fixture
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current folder (nothing of the checkout in it)."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_stock_names_list_the_shipped_files_usual_ones_first():
    assert stock_names("profiles") == list(PHASES)
    assert stock_names("apis")[0] == "agent-v1"
    assert {"agent-v1", "openai-chat", "langgraph"} <= set(stock_names("apis"))
    assert "smoke" in stock_names("scenarios")
    assert "codegen_prompts" in stock_names("datasets")
    assert "agents" in stock_names("locustfiles")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_stock_name_is_found_from_an_empty_folder(kind, empty_cwd):
    for name in stock_names(kind):
        assert find(kind, name) == stock_dir(kind) / f"{name}{KINDS[kind].ext}"


def test_a_bare_name_in_the_current_folder_shadows_the_stock_one(empty_cwd):
    own = empty_cwd / "profiles" / "smoke.toml"
    own.parent.mkdir()
    own.write_text("# mine\n")
    assert find("profiles", "smoke").resolve() == own.resolve()
    assert find("profiles", "load") == stock_dir("profiles") / "load.toml"


def test_an_explicit_path_is_taken_as_given_even_where_a_stock_name_matches(empty_cwd):
    with pytest.raises(ConfigError, match=r"^profile 'smoke.toml' not found, expected a \.toml"):
        find("profiles", "smoke.toml")
    (empty_cwd / "x").mkdir()
    (empty_cwd / "x" / "mine.toml").write_text("")
    assert find("profiles", "x/mine.toml") == Path("x/mine.toml")
    absolute = str(empty_cwd / "x" / "mine.toml")
    assert find("apis", absolute) == Path(absolute)
    with pytest.raises(ConfigError, match=r"^API description 'x/' is a folder"):
        find("apis", "x/")


def test_an_unknown_name_lists_the_names_that_exist(empty_cwd):
    with pytest.raises(ConfigError) as err:
        find("profiles", "x")
    assert (
        str(err.value) == "unknown profile 'x', expected a path or one of "
        "smoke, load, stress, profile, rate, replay, sweep"
    )
    (empty_cwd / "apis").mkdir()
    (empty_cwd / "apis" / "mine.toml").write_text("")
    with pytest.raises(
        ConfigError,
        match=r"^unknown API description 'nope', expected a path or one of mine, agent-v1, ",
    ):
        find("apis", "nope")


@pytest.mark.parametrize(
    ("text", "explicit"),
    [("smoke", False), ("agent-v1", False), ("v1.2", False), ("smoke.toml", True),
     ("rows.jsonl", True), ("my_users.py", True), ("./smoke", True), ("a/b", True),
     ("/abs/x", True)],
)  # fmt: skip
def test_what_counts_as_an_explicit_path(text, explicit):
    assert is_explicit_path(text) is explicit


def test_an_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown kind 'profile'"):
        find("profile", "smoke")


@pytest.mark.parametrize("phase", PHASES)
def test_a_stock_profile_finds_its_stock_scenario_config_from_any_folder(phase, empty_cwd):
    profile = load_profile(phase)
    path = scenario_config_path(profile)
    assert path.parent == stock_dir("scenarios")
    assert path.is_file()


def test_a_profile_names_its_scenario_config_beside_it_or_relative_to_it(tmp_path, empty_cwd):
    (tmp_path / "mine" / "profiles").mkdir(parents=True)
    (tmp_path / "mine" / "scenarios").mkdir()
    beside = tmp_path / "mine" / "scenarios" / "quick.toml"
    beside.write_text("seed = 1\n")
    stock = (stock_dir("profiles") / "smoke.toml").read_text()
    profile_file = tmp_path / "mine" / "profiles" / "p.toml"
    profile_file.write_text(stock.replace('scenario_config = "smoke"', 'scenario_config = "quick"'))
    assert scenario_config_path(load_profile(profile_file)) == beside.resolve()
    profile_file.write_text(
        stock.replace('scenario_config = "smoke"', 'scenario_config = "../scenarios/quick.toml"')
    )
    assert scenario_config_path(load_profile(str(profile_file))) == beside.resolve()
    # a name not beside it: the lookup (./scenarios/, then the stock ones)
    profile_file.write_text(stock.replace('scenario_config = "smoke"', 'scenario_config = "load"'))
    assert scenario_config_path(load_profile(profile_file)) == stock_dir("scenarios") / "load.toml"


def test_a_missing_scenario_config_names_the_profile_and_the_field(tmp_path, empty_cwd):
    stock = (stock_dir("profiles") / "smoke.toml").read_text()
    profile_file = tmp_path / "p.toml"
    profile_file.write_text(stock.replace('scenario_config = "smoke"', 'scenario_config = "nope"'))
    with pytest.raises(ConfigError) as err:
        scenario_config_path(load_profile(profile_file))
    assert str(err.value).startswith(
        f"{profile_file}: field 'scenario_config': unknown scenario config 'nope', expected a path"
    )
    profile_file.write_text(
        stock.replace('scenario_config = "smoke"', 'scenario_config = "x/nope.toml"')
    )
    with pytest.raises(ConfigError, match=r"field 'scenario_config': 'x/nope.toml' not found"):
        scenario_config_path(load_profile(profile_file))
