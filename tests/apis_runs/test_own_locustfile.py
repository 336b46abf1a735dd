"""A user's own locustfile through a phase, bad input before any load, and the rule that no
module of the suite names the demo API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.runner.agentload_run import run_agentload
from tests.support import ROOT

HERE = Path(__file__).resolve().parent


@pytest.mark.slow
def test_own_locustfile_runs_through_smoke_with_gates_and_report(tmp_path: Path) -> None:
    """--locustfile with --user-class: the class's recorded outcome and entry reach the gates,
    summary and report; the unselected class never runs."""
    out = tmp_path / "run"
    args = ["run", "smoke", "--locustfile", str(HERE / "my_locustfile.py")]
    args += ["--user-class", "AskUser", "--duration", "8s", "--users", "3", "--no-prometheus"]
    done = run_agentload([*args, "--gate", "agent_success_rate(ask) >= 99%", "--out", str(out)])
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["agent_outcomes"]["ask"]["success_rate"] == 1.0
    assert summary["endpoints"]["TTC ask"]["requests"] > 0
    assert "GET /healthz" not in summary["endpoints"]
    names = {g["name"] for g in summary["gates"]}
    assert {"agent_success_rate(ask)", "error_rate(GET /v1/status)"} <= names
    assert "ask" in (out / "report.html").read_text()


def test_a_missing_user_class_stops_before_any_load(tmp_path: Path) -> None:
    args = ["run", "smoke", "--locustfile", str(HERE / "my_locustfile.py")]
    done = run_agentload([*args, "--user-class", "NoSuchUser", "--out", str(tmp_path / "r")])
    assert done.returncode == 2
    assert "no user class 'NoSuchUser', it has AskUser, IdleUser" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_locustfile_that_does_not_import_is_one_line_and_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import no_such_module_here\n")
    done = run_agentload(["run", "smoke", "--locustfile", str(broken)])
    assert done.returncode == 2
    assert "broken.py: could not be loaded" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[scenarios.a]\npath = "x"\n', "field \"scenarios.a.path\": got 'x', expected a path"),
        ('[scenarios.a]\npath = "/x"\nmethod = "FETCH"\n', 'field "scenarios.a.method"'),
        ('[scenarios.a]\npath = "/x"\nbody = { q = "{nope}" }\n', "unknown template name 'nope'"),
        ('[scenarios.a]\npath = "/x"\n[[scenarios.a.success]]\npath = "y"\n', "exactly one"),
        ('[auth]\nkind = "bearer"\n[scenarios.a]\npath = "/x"\n', 'needs "env"'),
        ('[scenarios.a]\npath = "/x"\n[phases.smoke]\nweights = { b = 1 }\n', "unknown scenario"),
        ("scenarios = 3\n", 'field "scenarios"'),
        ("[scenarios.a\n", "invalid TOML"),
    ],
)
def test_a_bad_description_stops_before_any_load_naming_file_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    """One line on stderr naming the file and what was expected, exit 2, no traceback."""
    bad = tmp_path / "bad-api.toml"
    bad.write_text(text)
    done = run_agentload(["run", "smoke", "--api", str(bad), "--out", str(tmp_path / "r")])
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and str(bad) in errors[0] and expected in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "r" / "locust.html").exists()


DEMO_NAMES = re.compile(r"/v1/status|/v1/agents|/v1/jobs|\bcodegen\b|\bresearch\b|StatusUser")


def test_no_module_of_the_suite_names_the_demo_api() -> None:
    """The API under test is data: only the shipped descriptions and data may name the demo
    API's routes or scenarios (agentload/data/), never a module of agentload/."""
    offenders = []
    for path in sorted((ROOT / "agentload").rglob("*.py")):
        if "data" in path.relative_to(ROOT / "agentload").parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if DEMO_NAMES.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
