"""`agentload init`: an editable starter whose files load as written, never overwritten silently."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from agentload.apis.load import load_description
from agentload.errors import ConfigError
from agentload.profiles.load import load_profile, scenario_config_path
from agentload.scenarios.config import load_scenario_config
from agentload.stock.lookup import PACKAGE_DATA
from agentload.stock.starter import (
    API_FILE,
    LOCUSTFILE,
    PROFILE_FILE,
    SCENARIOS_FILE,
    write_starter,
)
from tests.runner.agentload_run import run_agentload

STARTER = [API_FILE, SCENARIOS_FILE, PROFILE_FILE, LOCUSTFILE]


def test_the_starter_files_load_as_written_from_another_folder(tmp_path, monkeypatch):
    written = write_starter(tmp_path / "starter")
    assert written == [tmp_path / "starter" / Path(p) for p in STARTER]
    monkeypatch.chdir(tmp_path)  # not the starter's folder: paths inside are relative to files
    description, _ = load_description(str(written[0]))
    stock = tomllib.loads((PACKAGE_DATA / "apis" / "agent-v1.toml").read_text())
    assert description.name == "my-api"
    assert set(description.scenarios) == set(stock["scenarios"])
    profile = load_profile(written[2])
    assert profile.phase == "smoke"
    assert scenario_config_path(profile) == written[1].resolve()
    load_scenario_config(written[1])
    tree = ast.parse(written[3].read_text())
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert any(
        n.module == "agentload.locust" and n.names[0].name == "record_outcome" for n in imports
    )


def test_every_starter_file_opens_with_comments_on_how_to_adapt_it(tmp_path):
    for path in write_starter(tmp_path):
        first = path.read_text().splitlines()[0]
        assert first.startswith(("#", '"""')), path


def test_an_existing_file_stops_init_before_anything_is_written(tmp_path):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "my-smoke.toml").write_text("mine\n")
    with pytest.raises(ConfigError, match="my-smoke.toml exists; use --force"):
        write_starter(tmp_path)
    assert (tmp_path / "profiles" / "my-smoke.toml").read_text() == "mine\n"
    assert not (tmp_path / "apis").exists()
    write_starter(tmp_path, force=True)
    assert (tmp_path / "profiles" / "my-smoke.toml").read_text() != "mine\n"


def test_init_in_a_file_instead_of_a_folder_is_refused(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigError, match="not a folder"):
        write_starter(tmp_path / "f")


def test_the_init_command_prints_what_it_wrote_and_what_to_run_next(tmp_path):
    done = run_agentload(["init", "starter"], cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    for path in STARTER:
        assert f"wrote starter/{path}" in done.stdout
    assert (
        "agentload run starter/profiles/my-smoke.toml --api starter/apis/my-api.toml" in done.stdout
    )
    again = run_agentload(["init", "starter"], cwd=tmp_path, timeout=60)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        "agentload: error: starter/apis/my-api.toml exists; use --force to overwrite the starter"
    ]
    forced = run_agentload(["init", "starter", "--force"], cwd=tmp_path, timeout=60)
    assert forced.returncode == 0, forced.stderr


def test_the_starter_locustfile_imports_in_locust(tmp_path):
    """Locust loads the skeleton (with agentload's plugin) and lists its user class."""
    written = write_starter(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(written[3]), "--list"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "MyAgentUser" in done.stdout + done.stderr
