"""`agentload` command line: help, and every bad input ends with one clear line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentload.cli import app
from tests.runner.agentload_run import run_agentload

RUN_OPTIONS = [
    "--host", "--users", "--spawn-rate", "--duration", "--workers", "--out", "--web", "--gate",
    "--allow-remote", "--baseline", "--on-worker-loss", "--ready-timeout", "--pid",
    "--prometheus", "--no-prometheus",
]  # fmt: skip


def invoke(args: list[str]):
    """`agentload ARGS` in this process (usage errors stop before anything starts)."""
    return CliRunner().invoke(app, args, env={"COLUMNS": "200"})


def assert_one_clear_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output, result.output


def test_run_help_explains_every_option():
    """`agentload run --help` (the console script, as a user runs it) explains every option."""
    done = run_agentload(["run", "--help"], timeout=60)
    assert done.returncode == 0, done.stderr
    for option in RUN_OPTIONS:
        assert option in done.stdout, option
    assert "Exit codes" in done.stdout


def test_top_level_help_lists_run_and_serve():
    result = invoke(["--help"])
    assert result.exit_code == 0
    assert "run" in result.output and "serve" in result.output


def test_remote_host_is_refused_without_allow_remote(tmp_path: Path):
    """A --host that is not loopback is refused (exit 2) and the message says why and how."""
    out = tmp_path / "run"
    result = invoke(["run", "smoke", "--host", "http://10.1.2.3:8000", "--out", str(out)])
    assert_one_clear_error(result, "not a loopback address", "--allow-remote")
    assert not out.exists()


@pytest.mark.parametrize("host", ["ftp://127.0.0.1", "127.0.0.1:8000", "http://"])
def test_malformed_host_is_a_usage_error(tmp_path: Path, host: str):
    result = invoke(["run", "smoke", "--host", host, "--out", str(tmp_path / "run")])
    assert_one_clear_error(result, "--host")


def test_output_folder_not_writable_is_one_clear_error(tmp_path: Path):
    """An output folder that cannot be created or written: one line naming it, exit 2."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = invoke(["run", "smoke", "--out", str(blocker / "run")])
    assert_one_clear_error(result, "not writable", str(blocker / "run"))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "nosuchphase"], "unknown profile 'nosuchphase'"),
        (["run", "smoke", "--gate", "p95 < fast"], "gate 'p95 < fast' is malformed"),
        (["run", "smoke", "--gate", "latency(GET /) < 1s"], "unknown metric 'latency'"),
        (["run", "smoke", "--duration", "ten minutes"], "--duration"),
        (["run", "smoke", "--ready-timeout", "soon"], "--ready-timeout"),
        (["run", "smoke", "--users", "0"], "--users"),
        (["run", "smoke", "--on-worker-loss", "maybe"], "--on-worker-loss"),
        (["run", "smoke", "--web", "--workers", "2"], "cannot be combined"),
    ],
)
def test_bad_usage_exits_2_naming_the_problem(tmp_path: Path, args: list[str], needle: str):
    """Bad phases, gates, durations and options: exit 2 with a line naming the bad value."""
    result = invoke([*args, "--out", str(tmp_path / "run")])
    assert_one_clear_error(result, needle)
