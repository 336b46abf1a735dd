"""Plain Locust from a clone: `locust -f locustfiles/` at the repository root, no agentload command.

The commands are the ones a user types (only `--csv` added, to read the figures), run from the
repository root against the real `python -m target_service` on free ports, with an environment
that has none of agentload's variables: the default description agent-v1 and the documented
local API key on both sides.
"""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest

from tests.support import API_KEY, ROOT, run_target_service, stop_process

LOCUST = str(ROOT / ".venv" / "bin" / "locust")
USER_CLASSES = {
    "MixedAgentUser", "OpenModelUser", "ReplayUser", "StatusUser", "CodegenUser", "ResearchUser",
}  # fmt: skip
ENTRIES = (
    "GET /v1/status",
    "POST /v1/agents/codegen",
    "POST /v1/agents/research",
    "GET /v1/jobs/{job_id}",
    "TTC research",
)


def _plain_env() -> dict[str, str]:
    """This environment without the variables agentload's runner sets for Locust (AGENTLOAD_*)
    and without the client's key (AGENT_API_KEY), as in a shell that never ran agentload."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AGENTLOAD_") and key != "AGENT_API_KEY"
    }


def test_locust_list_names_every_user_class_of_the_locustfiles_folder() -> None:
    """`locust -f locustfiles/ --list` lists exactly the mixed, open-model, replay and
    one-per-scenario user classes of agent-v1 (status, codegen, research)."""
    done = subprocess.run(
        [LOCUST, "-f", "locustfiles/", "--list"], cwd=ROOT, env=_plain_env(),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output
    listed = done.stdout.split("Available Users:", 1)[1].split()
    assert sorted(listed) == sorted(USER_CLASSES), output


@pytest.mark.slow
def test_plain_locust_from_the_root_records_every_entry_of_the_agent_api(tmp_path: Path) -> None:
    """`locust -f locustfiles/ --headless -u 12 -r 12 -t 20s` against the embedded agent API
    exits 0 without a traceback, and its stats hold the five entries of status, code-gen and
    research with requests, job polls grouped under their URL template; with no class named,
    the closed-model users run, OpenModelUser (for the open-model shape) not among them."""
    out = tmp_path / "out"
    out.mkdir()
    with run_target_service(tmp_path, env={"AGENT_API_KEYS": API_KEY}) as service:
        command = [
            LOCUST, "-f", "locustfiles/", "--host", service.url,
            "--headless", "-u", "12", "-r", "12", "-t", "20s", "--csv", str(out / "locust"),
        ]  # fmt: skip
        with (out / "locust.log").open("w") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env=_plain_env(), stdout=log, stderr=subprocess.STDOUT,
                text=True,
            )  # fmt: skip
        try:
            process.wait(timeout=120)
        finally:
            stop_process(process)
    output = (out / "locust.log").read_text(errors="replace")
    # Locust exits 1 on any request failure (--exit-code-on-error): 0 means none failed.
    assert process.returncode == 0, output[-5000:]
    assert "Traceback" not in output
    spawned = next(line for line in output.splitlines() if "All users spawned:" in line)
    assert "MixedAgentUser" in spawned and "OpenModelUser" not in spawned, spawned
    with (out / "locust_stats.csv").open(newline="") as stats:
        rows = [row for row in csv.DictReader(stats) if row["Name"] != "Aggregated"]
    counts = {f"{row['Type']} {row['Name']}": int(row["Request Count"]) for row in rows}
    for entry in ENTRIES:
        assert counts.get(entry, 0) > 0, (entry, counts)
    jobs = {row["Name"] for row in rows if row["Name"].startswith("/v1/jobs")}
    assert jobs == {"/v1/jobs/{job_id}"}, jobs
