"""Research jobs across a crash of the agent API: none is lost (issue 7).

The agent API child is stopped (SIGTERM) or killed (SIGKILL) in the middle of a batch of jobs;
the service is started again on the same SQLite file, and every accepted job must reach a
terminal state.
"""

from __future__ import annotations

import os
import re
import signal
import time
from datetime import UTC, datetime

import httpx

from tests.support import run_target_service

KEY = "restart-drill-key"
TERMINAL = {"succeeded", "failed", "cancelled"}
AUTH = {"Authorization": f"Bearer {KEY}"}


def _api_pid(log: str) -> int:
    match = re.search(r"target_service: api pid=(\d+)", log)
    assert match, f"no api pid line in the supervisor's output:\n{log}"
    return int(match.group(1))


def _kill_api(service, sig: signal.Signals = signal.SIGKILL) -> None:
    """Signal the agent API child, by the PID the supervisor printed, and wait until it is gone."""
    pid = _api_pid(service.log())
    os.kill(pid, sig)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)  # still a zombie until the supervisor reaps it: that is gone enough
        if _is_zombie(pid):
            return
    raise AssertionError(f"api pid {pid} still alive after SIGKILL")


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _dir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def _final_states(url: str, job_ids: list[str], bound_s: float = 45.0) -> dict[str, dict]:
    """Poll every job until all are terminal (bounded)."""
    final: dict[str, dict] = {}
    end = time.monotonic() + bound_s
    with httpx.Client(base_url=url, headers=AUTH, timeout=10.0) as client:
        while len(final) < len(job_ids) and time.monotonic() < end:
            for job_id in job_ids:
                if job_id in final:
                    continue
                resp = client.get(f"/v1/jobs/{job_id}")
                assert resp.status_code == 200, f"job {job_id} lost after restart: {resp.text}"
                if resp.json()["status"] in TERMINAL:
                    final[job_id] = resp.json()
            time.sleep(0.1)
    missing = set(job_ids) - set(final)
    assert not missing, f"{len(missing)} jobs never reached a terminal state"
    return final


def test_every_accepted_job_ends_across_api_restarts(tmp_path):
    """Submitted = succeeded + failed + cancelled after a SIGTERM, then a SIGKILL, of the API."""
    env = {
        "AGENT_API_KEYS": KEY,
        "AGENT_DB_PATH": str(tmp_path / "jobs.sqlite"),
        "AGENT_RESEARCH_WORKERS": "2",
        "ENGINE_TTFT_MS": "40",
        "ENGINE_TOKENS_PER_S": "800",
        "ENGINE_OUTPUT_TOKENS": "24",
    }
    questions = [
        "How do I parse JSON from a string?", "How do I run a subprocess with a timeout?",
        "How does a heap priority queue work?", "How do I read a CSV file?",
        "How do I compress data with gzip?", "How do I format dates and times?",
    ]  # fmt: skip
    accepted: list[str] = []
    for life, sig in enumerate((signal.SIGTERM, signal.SIGKILL)):
        with run_target_service(_dir(tmp_path / f"life{life}"), env) as svc:
            with httpx.Client(base_url=svc.url, headers=AUTH, timeout=10.0) as client:
                for question in questions:
                    body = {"question": question, "depth": 2}
                    resp = client.post("/v1/agents/research", json=body)
                    assert resp.status_code == 202, resp.text
                    accepted.append(resp.json()["job_id"])
                    if len(accepted) == 2:
                        client.delete(f"/v1/jobs/{accepted[0]}")
                states = [client.get(f"/v1/jobs/{j}").json()["status"] for j in accepted]
            assert set(states) - TERMINAL, f"every job finished before the {sig.name}: {states}"
            _kill_api(svc, sig)

    with run_target_service(_dir(tmp_path / "last"), env) as last:
        final = _final_states(last.url, accepted)

    by_state = {s: [j for j in accepted if final[j]["status"] == s] for s in TERMINAL}
    assert len(accepted) == sum(len(v) for v in by_state.values()) == 2 * len(questions)
    assert final[accepted[0]]["status"] == "cancelled"
    assert len(by_state["succeeded"]) == len(accepted) - 1, {
        j: final[j]["error"] for j in by_state["failed"]
    }
    assert all(final[j]["result"]["citations"] for j in by_state["succeeded"])


def test_jobs_past_their_deadline_fail_with_a_reason(tmp_path):
    """A slow engine fails a job at its deadline; after a crash, overdue jobs fail on restart."""
    env = {
        "AGENT_API_KEYS": KEY,
        "AGENT_DB_PATH": str(tmp_path / "jobs.sqlite"),
        "AGENT_RESEARCH_JOB_TIMEOUT_S": "1",
        "AGENT_RESEARCH_WORKERS": "1",
        "ENGINE_TTFT_MS": "2000",
    }

    def submit(client: httpx.Client, question: str) -> str:
        resp = client.post("/v1/agents/research", json={"question": question, "depth": 1})
        assert resp.status_code == 202, resp.text
        return str(resp.json()["job_id"])

    with run_target_service(_dir(tmp_path / "first"), env) as first:
        with httpx.Client(base_url=first.url, headers=AUTH, timeout=10.0) as client:
            in_service = submit(client, "what is heapq")
            timed_out = _final_states(first.url, [in_service])[in_service]
            assert timed_out["status"] == "failed"
            assert timed_out["error"] == "timeout: job deadline of 1s exceeded"
            overdue = [submit(client, q) for q in ("what is bisect", "what is zlib")]
            deadline = max(client.get(f"/v1/jobs/{j}").json()["deadline_at"] for j in overdue)
        _kill_api(first)
    while datetime.now(UTC) <= datetime.fromisoformat(deadline):
        time.sleep(0.1)  # the deadlines pass while the service is down

    with run_target_service(_dir(tmp_path / "second"), env) as second:
        final = _final_states(second.url, overdue)
    for job_id in overdue:
        assert final[job_id]["status"] == "failed"
        reason = "timeout: the job's deadline passed while the service was down"
        assert final[job_id]["error"] == reason
