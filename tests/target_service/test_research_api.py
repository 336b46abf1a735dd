"""Scenario C against the real target service: submit, poll, cancel, isolation, limits, metrics."""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import run_target_service

KEY1, KEY2 = "research-key-one", "research-key-two"
TERMINAL = {"succeeded", "failed", "cancelled"}
FAST_ENGINE = {
    "ENGINE_TTFT_MS": "20",
    "ENGINE_TOKENS_PER_S": "2000",
    "ENGINE_OUTPUT_TOKENS": "24",
    "AGENT_API_KEYS": f"{KEY1},{KEY2}",
    "AGENT_RESEARCH_WORKERS": "2",
}


def auth(key: str = KEY1) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def submit(client: httpx.Client, question: str, depth: int = 2, key: str = KEY1) -> str:
    resp = client.post("/v1/agents/research", json={"question": question, "depth": depth},
                       headers=auth(key))  # fmt: skip
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["status"] == "queued" and body["poll_url"] == f"/v1/jobs/{body['job_id']}"
    return str(body["job_id"])


def wait_terminal(client: httpx.Client, job_id: str, key: str = KEY1, bound_s: float = 30.0):
    """Poll a job until it is terminal; every non-terminal answer carries Retry-After."""
    seen = []
    end = time.monotonic() + bound_s
    while time.monotonic() < end:
        resp = client.get(f"/v1/jobs/{job_id}", headers=auth(key))
        assert resp.status_code == 200, resp.text
        body = resp.json()
        seen.append(body["status"])
        if body["status"] in TERMINAL:
            assert "retry-after" not in resp.headers
            return body, seen
        assert 0 <= int(resp.headers["retry-after"]) <= 10
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} not terminal after {bound_s}s: {seen[-3:]}")


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return tmp_path_factory.mktemp("research-db") / "jobs.sqlite"


@pytest.fixture(scope="module")
def research_service(tmp_path_factory, db_path):
    env = {**FAST_ENGINE, "AGENT_DB_PATH": str(db_path)}
    with run_target_service(tmp_path_factory.mktemp("research"), env) as svc:
        yield svc


@pytest.fixture
def client(research_service):
    with httpx.Client(base_url=research_service.url, timeout=10.0) as c:
        yield c


def test_job_runs_to_an_answer_with_citations(client):
    """A job goes queued -> running -> succeeded with an answer citing stdlib docstrings."""
    job_id = submit(client, "How do I parse a CSV file with a header row?", depth=3)
    body, seen = wait_terminal(client, job_id)
    assert body["status"] == "succeeded", body
    assert set(seen) <= {"queued", "running", "succeeded"}
    assert body["error"] is None and body["depth"] == 3 and body["attempts"] == 1
    result = body["result"]
    assert result["answer"].strip()
    citations = result["citations"]
    assert len(citations) >= 3 and len({c["source"] for c in citations}) == len(citations)
    assert any(c["source"].startswith("csv") for c in citations)
    for c in citations:
        assert set(c) == {"source", "title", "snippet", "score"} and c["score"] > 0
    assert "[1]" in result["answer"]
    assert body["created_at"] <= body["started_at"] <= body["finished_at"]


def test_cancel_stops_a_job_and_leaves_finished_jobs_alone(client):
    """DELETE cancels an unfinished job; on a finished job it changes nothing."""
    job_id = submit(client, "Explain asyncio tasks, futures and event loops", depth=5)
    resp = client.delete(f"/v1/jobs/{job_id}", headers=auth())
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled"
    assert resp.json()["error"] == "cancelled by the client"
    assert wait_terminal(client, job_id)[0]["status"] == "cancelled"

    done = submit(client, "What does json.loads return?", depth=1)
    assert wait_terminal(client, done)[0]["status"] == "succeeded"
    again = client.delete(f"/v1/jobs/{done}", headers=auth())
    assert again.status_code == 200 and again.json()["status"] == "succeeded"


def test_jobs_are_visible_only_to_their_key(client, db_path):
    """Another key gets 404 for a job, as for an unknown one; the store keeps key ids only."""
    job_id = submit(client, "How does heapq keep a priority queue?", depth=1, key=KEY1)
    for method in ("GET", "DELETE"):
        resp = client.request(method, f"/v1/jobs/{job_id}", headers=auth(KEY2))
        assert resp.status_code == 404, resp.text
    assert wait_terminal(client, job_id, KEY1)[0]["status"] == "succeeded"
    with sqlite3.connect(db_path) as conn:
        key_ids = {row[0] for row in conn.execute("SELECT key_id FROM research_jobs")}
    assert key_ids and not key_ids & {KEY1, KEY2}
    assert all(len(k) == 16 for k in key_ids)


def test_unknown_job_and_missing_key(client):
    """Unknown jobs are 404; every research route wants a valid key."""
    assert client.get("/v1/jobs/does-not-exist", headers=auth()).status_code == 404
    assert client.get("/v1/jobs/%ED%A0%80", headers=auth()).status_code == 404
    assert client.get(f"/v1/jobs/{'a' * 32}", headers=auth()).status_code == 404
    assert client.get(f"/v1/jobs/{'a' * 65}", headers=auth()).status_code == 422
    assert client.delete("/v1/jobs/does-not-exist", headers=auth()).status_code == 404
    assert client.get("/v1/jobs/x").status_code == 401
    bad = {"Authorization": "Bearer wrong-key-123"}
    assert client.post("/v1/agents/research", json={"question": "what is heapq"}, headers=bad)\
        .status_code == 401  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"question": "hi"},
        {"question": "    "},
        {"question": "x" * 2001},
        {"question": "what is heapq", "depth": 0},
        {"question": "what is heapq", "depth": 6},
        {"question": "what is heapq", "depth": "deep"},
        {"question": 42},
        {"question": "what is heapq", "unknown": True},
    ],
)
def test_bad_submissions_are_422(client, body):
    """Field limits hold: a clear 422, never a 5xx."""
    resp = client.post("/v1/agents/research", json=body, headers=auth())
    assert resp.status_code == 422, resp.text


def test_research_metrics_have_their_labels(client):
    """Job gauge by state, duration histogram and research outcomes are exported."""
    job_id = submit(client, "How do I read a gzip file?", depth=1)
    wait_terminal(client, job_id)
    text = client.get("/metrics").text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    for state in ("queued", "running", "succeeded", "failed", "cancelled"):
        assert ("agent_research_jobs", (("state", state),)) in samples
    assert samples[("agent_research_jobs", (("state", "succeeded"),))] >= 1
    assert samples[("agent_research_job_duration_seconds_count", ())] >= 1
    success = ("agent_task_outcomes_total", (("agent", "research"), ("outcome", "success")))
    assert samples[success] >= 1
    assert KEY1 not in text and KEY2 not in text


def test_full_queue_sheds_submissions_with_429(tmp_path):
    """Past AGENT_RESEARCH_QUEUE_MAX queued jobs, a submission gets 429 + Retry-After."""
    env = {
        "AGENT_API_KEYS": KEY1,
        "AGENT_DB_PATH": str(tmp_path / "jobs.sqlite"),
        "AGENT_RESEARCH_WORKERS": "1",
        "AGENT_RESEARCH_QUEUE_MAX": "1",
        "ENGINE_TTFT_MS": "1000",
    }
    with run_target_service(tmp_path, env) as svc, httpx.Client(base_url=svc.url) as client:
        answers = [
            client.post("/v1/agents/research", json={"question": f"what is zlib {i}"},
                        headers=auth())
            for i in range(3)
        ]  # fmt: skip
        codes = [r.status_code for r in answers]
        assert codes.count(429) >= 1 and set(codes) <= {202, 429}, codes
        rejected = next(r for r in answers if r.status_code == 429)
        assert rejected.headers["retry-after"] == "1"
        assert "queue is full" in rejected.json()["detail"]
        prefix = 'agent_task_outcomes_total{agent="research",outcome="rejected"} '
        lines = client.get("/metrics").text.splitlines()
        line = next(x for x in lines if x.startswith(prefix))
        assert float(line.split()[-1]) >= 1
        for r in answers:
            if r.status_code == 202:
                client.delete(f"/v1/jobs/{r.json()['job_id']}", headers=auth())
