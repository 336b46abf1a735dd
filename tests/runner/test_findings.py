"""The last console lines name what the load, stress and profile phases found."""

from __future__ import annotations

from agentload.run.finish import _findings

STEPS = [{"users": 20, "rps": 1.3, "p95_ms": 800.0, "error_rate": 0.0}]


def test_load_without_degradation_says_up_to_which_load_p95_held():
    summary = {"load": {"entry": "POST /v1/agents/codegen", "steps": STEPS, "degradation": None}}
    assert _findings(summary) == ["P95 of POST /v1/agents/codegen did not degrade up to 20 users"]


def test_load_degradation_point_is_named_with_its_rps_and_p95():
    point = {"users": 80, "rps": 9.5, "p95_ms": 1520.0, "error_rate": 0.0}
    summary = {"load": {"entry": "POST /v1/agents/codegen", "steps": [*STEPS, point],
                        "degradation": point}}  # fmt: skip
    (line,) = _findings(summary)
    expected = "starts to degrade at 80 users (9.5 rps, P95 1520 ms)"
    assert line == f"P95 of POST /v1/agents/codegen {expected}"


def test_stress_knee_and_profile_hotspot_are_reported():
    summary = {
        "stress": {"knee": {"users": 8, "rps": 9.99, "p95_ms": 800.0},
                   "stop_reason": "throughput stopped growing", "saturated": "engine slots"},
        "profile": {"flamegraph": "flamegraph.svg", "top_functions": [
            {"function": "send", "file": "h11_impl.py", "line": 463, "self_pct": 9.1,
             "total_pct": 12.0}]},
    }  # fmt: skip
    knee, hot = _findings(summary)
    assert knee.startswith("knee at 8 users: 10.0 rps, P95 800 ms (stopped: throughput")
    assert hot == "hottest function: send (h11_impl.py:463), 9.1% self; flame graph: flamegraph.svg"


def test_smoke_has_no_findings_lines():
    assert _findings({"totals": {}, "gates": []}) == []


def test_token_rates_are_a_finding_naming_their_base():
    llm = {"chat": {"requests": 40, "output_tokens_per_s": 98.64, "total_tokens_per_s": None,
                    "token_source": "chunks", "tokens_base": "streamed calls"}}  # fmt: skip
    assert _findings({"totals": {}, "gates": [], "llm": llm}) == [
        "chat: 98.6 output tokens/s, counted over its 40 streamed calls (tokens from chunks)"
    ]
