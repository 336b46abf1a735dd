"""The agent API's endpoints, auth, input limits and metrics against the real processes."""

from __future__ import annotations

import json
import re
import socket

import httpx
import psutil
import pytest

from tests.support import API_KEY

AUTH = {"Authorization": f"Bearer {API_KEY}"}
CODEGEN = "/v1/agents/codegen"


@pytest.fixture(scope="module")
def client(service):
    with httpx.Client(base_url=service.url, timeout=15) as client:
        yield client


def test_health_and_readiness_need_no_key(client):
    """/healthz and /readyz answer 200 without a key when the engine is up."""
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_status_reports_engine_jobs_breaker_and_uptime(client):
    """GET /v1/status shows in-flight, job counts, the engine's slots and queue, breaker, uptime."""
    body = client.get("/v1/status", headers=AUTH).json()
    assert body["status"] == "ok"
    assert body["in_flight"] >= 1
    assert body["circuit_breaker"] == "closed"
    assert body["engine"]["reachable"] is True
    assert body["engine"]["slots_total"] == 16
    assert body["engine"]["queue_depth"] >= 0
    assert set(body["jobs"]) >= {"queued", "running", "succeeded", "failed", "cancelled"}
    assert body["uptime_s"] > 0


def test_codegen_returns_valid_python_with_usage_and_timings(client):
    """A code-gen call answers parsed code, token usage and stage timings."""
    response = client.post(CODEGEN, headers=AUTH, json={"prompt": "merge two sorted lists"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["language"] == "python" and body["valid"] is True
    compile(body["code"], "<codegen>", "exec")
    assert body["usage"]["completion_tokens"] == 24
    assert body["usage"]["prompt_tokens"] > 0
    assert set(body["timings"]) == {"ttft_ms", "engine_ms", "validate_ms", "total_ms"}
    assert len(body["id"]) == 32


def test_identical_prompts_are_served_from_the_cache(client, service, scrape, metric):
    """The second identical prompt is a cache hit: same code, `cached` true, hit counted."""
    before = metric(scrape(service.url), "agent_cache_requests_total", result="hit")
    request = {"prompt": "cache me: parse a CSV line", "max_tokens": 20}
    first = client.post(CODEGEN, headers=AUTH, json=request).json()
    second = client.post(CODEGEN, headers=AUTH, json=request).json()
    assert first["cached"] is False and second["cached"] is True
    assert second["code"] == first["code"] and second["id"] != first["id"]
    after = metric(scrape(service.url), "agent_cache_requests_total", result="hit")
    assert after == before + 1


def test_streaming_sends_token_events_then_the_result(client):
    """With stream: true the answer is SSE: token events whose text adds up to the result."""
    request = {"prompt": "stream a fibonacci function", "max_tokens": 16, "stream": True}
    with client.stream("POST", CODEGEN, headers=AUTH, json=request) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = []
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                events.append((event, json.loads(line[6:])))
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "result" and set(kinds[:-1]) == {"token"} and len(kinds) > 2
    result = events[-1][1]
    streamed = "".join(data["text"] for kind, data in events[:-1])
    assert result["code"].strip() == streamed.strip()
    assert result["valid"] is True and result["usage"]["completion_tokens"] == 16


V1_ROUTES = [
    ("GET", "/v1/status", None),
    ("POST", CODEGEN, {"prompt": "x"}),
    ("POST", "/v1/agents/research", {"question": "how does asyncio work", "depth": 1}),
    ("GET", "/v1/jobs/abc", None),
    ("DELETE", "/v1/jobs/abc", None),
]


@pytest.mark.parametrize("method,path,body", V1_ROUTES)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key-123"}, {"Authorization": API_KEY}],
    ids=["missing", "wrong", "not-bearer"],
)
def test_every_v1_route_rejects_a_missing_or_wrong_key(client, method, path, body, headers):
    """Every /v1 route answers 401 with a Bearer challenge without a valid key."""
    response = client.request(method, path, headers=headers, json=body)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_every_v1_route_of_the_schema_is_covered_by_the_auth_test(client):
    """The auth test above lists every /v1 operation of the OpenAPI schema."""
    paths = client.get("/openapi.json").json()["paths"]
    operations = {
        (method.upper(), path) for path, item in paths.items() for method in item
        if path.startswith("/v1")
    }  # fmt: skip
    covered = {(m, p.replace("/abc", "/{job_id}")) for m, p, _ in V1_ROUTES}
    assert operations == covered


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"prompt": ""},
        {"prompt": "x" * 8001},
        {"prompt": "x", "max_tokens": 0},
        {"prompt": "x", "max_tokens": 5000},
        {"prompt": "x", "language": "cobol"},
        {"prompt": "x", "stream": "maybe"},
        {"prompt": "x", "extra": 1},
        [1, 2],
    ],
)
def test_bad_codegen_input_is_422(client, body):
    """Field limits and unknown fields answer 422, never a 5xx."""
    assert client.post(CODEGEN, headers=AUTH, json=body).status_code == 422


def test_malformed_json_is_422(client):
    """A body that is not JSON answers 422."""
    response = client.post(
        CODEGEN, headers={**AUTH, "Content-Type": "application/json"}, content=b"{not json"
    )
    assert response.status_code == 422


def test_oversized_body_is_413(client):
    """A body over AGENT_MAX_BODY_BYTES answers 413 before the app reads it."""
    response = client.post(CODEGEN, headers=AUTH, json={"prompt": "x" * 70_000})
    assert response.status_code == 413
    assert "limit 65536 bytes" in response.json()["detail"]


def test_oversized_chunked_body_is_413(service):
    """A chunked body (no Content-Length) is counted as it arrives and cut off with 413."""
    host, port = service.url.removeprefix("http://").split(":")
    chunk = b"x" * 16_384
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"POST {CODEGEN} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {API_KEY}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        for _ in range(5):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        sock.sendall(b"0\r\n\r\n")
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413"), answer


def test_unknown_route_is_404_and_admin_is_off_by_default(client):
    """Unknown paths and /admin/faults (no AGENT_ADMIN_KEY) answer 404."""
    assert client.get("/v1/nope", headers=AUTH).status_code == 404
    assert client.get("/admin/faults", headers=AUTH).status_code == 404
    assert client.post("/admin/faults", headers=AUTH, json={"error_rate": 1}).status_code == 404
    assert "/admin/faults" not in client.get("/openapi.json").json()["paths"]


def test_405_lists_every_method_of_the_path(client):
    """A wrong method answers 405 with `Allow` naming every route of that path."""
    response = client.put("/v1/jobs/abc", headers=AUTH)
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET"


def test_every_metric_appears_with_template_route_labels(client, service, scrape, metric):
    """/metrics has every contract metric, and routes are templates, never raw ids."""
    client.get("/v1/jobs/some-raw-job-id", headers=AUTH)
    client.post(CODEGEN, headers=AUTH, json={"prompt": "metrics please"})
    client.get("/v1/status", headers=AUTH)
    samples = scrape(service.url)
    for name in (
        "agent_http_request_duration_seconds_bucket",
        "agent_http_requests_in_flight",
        "agent_task_outcomes_total",
        "agent_research_job_duration_seconds_count",
        "agent_research_jobs",
        "agent_engine_request_duration_seconds_bucket",
        "agent_engine_ttft_seconds_bucket",
        "agent_engine_tokens_total",
        "agent_cache_requests_total",
        "agent_circuit_breaker_state",
        "process_resident_memory_bytes",
    ):
        assert name in samples, name
    count = samples["agent_http_request_duration_seconds_count"]
    routes = {dict(labels)["route"] for labels in count}
    assert {"/v1/status", CODEGEN, "/v1/jobs/{job_id}"} <= routes
    assert not any("some-raw-job-id" in route for route in routes)
    status_ok = frozenset({("route", "/v1/status"), ("method", "GET"), ("status", "200")})
    assert count[status_ok] >= 1
    buckets = {
        dict(labels)["le"] for labels in samples["agent_http_request_duration_seconds_bucket"]
    }
    assert {"0.001", "120.0", "+Inf"} <= buckets  # 1 ms to 120 s
    finite = sorted(float(le) for le in buckets if le != "+Inf")
    steps = [b / a for a, b in zip(finite, finite[1:], strict=False)]
    assert max(steps) <= 1.1 + 1e-9  # at most 10 % apart
    assert metric(samples, "agent_task_outcomes_total", agent="status", outcome="success") >= 1
    assert metric(samples, "agent_task_outcomes_total", agent="codegen", outcome="success") >= 1
    for kind in ("prompt", "completion"):
        assert metric(samples, "agent_engine_tokens_total", kind=kind) > 0
    assert metric(samples, "agent_engine_request_duration_seconds_count", outcome="ok") >= 1
    assert metric(samples, "agent_circuit_breaker_state") == 0


def test_engine_connections_are_pooled_and_kept_alive(client, service):
    """Sequential code-gen calls reuse one pooled keep-alive connection to the engine."""
    api_pid = int(re.search(r"api pid=(\d+)", service.log()).group(1))
    engine_port = int(service.engine_url.rsplit(":", 1)[1])

    def engine_connections() -> set[int]:
        return {
            conn.laddr.port
            for conn in psutil.Process(api_pid).net_connections(kind="tcp")
            if conn.raddr and conn.raddr.port == engine_port and conn.status == "ESTABLISHED"
        }

    client.post(CODEGEN, headers=AUTH, json={"prompt": "pool warm-up", "max_tokens": 8})
    before = engine_connections()
    for i in range(10):
        body = {"prompt": f"pooled call {i}", "max_tokens": 8, "stream": i % 2 == 0}
        assert client.post(CODEGEN, headers=AUTH, json=body).status_code == 200
    after = engine_connections()
    assert before and after <= before, (before, after)
