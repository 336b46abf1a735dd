"""Gate expressions: parsing, evaluation over a summary, and early abort."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentload.errors import ConfigError
from agentload.gates import evaluate, parse_gate, parse_gates, should_abort

SUMMARY = {
    "totals": {
        "requests": 1000,
        "failures": 5,
        "rps": 25.0,
        "error_rate": 0.005,
        "agent_success_rate": 0.97,
    },
    "endpoints": {
        "POST /v1/agents/codegen": {
            "requests": 400,
            "failures": 4,
            "rps": 10.0,
            "p50_ms": 300,
            "p90_ms": 600,
            "p95_ms": 750,
            "p99_ms": 1200,
            "max_ms": 2000,
            "avg_ms": 350.0,
        },
        "GET /v1/status": {
            "requests": 600,
            "failures": 1,
            "rps": 15.0,
            "p50_ms": 5,
            "p95_ms": 12,
            "p99_ms": 30,
            "max_ms": 80,
        },
        "TTC research": {
            "requests": 0,
            "failures": 0,
            "rps": 0.0,
            "p50_ms": None,
            "p95_ms": None,
            "p99_ms": None,
            "max_ms": None,
        },
    },
    "agent_outcomes": {
        "codegen": {"success": 96, "invalid": 4, "total": 100, "success_rate": 0.96}
    },
}


@pytest.mark.parametrize(
    ("expr", "metric", "entry", "op", "threshold"),
    [
        ("p95(POST /v1/agents/codegen) < 800ms", "p95", "POST /v1/agents/codegen", "<", 800),
        ("p99(TTC research) < 30s", "p99", "TTC research", "<", 30_000),
        ("error_rate < 1%", "error_rate", None, "<", 0.01),
        ("error_rate(GET /v1/status) < 0.5%", "error_rate", "GET /v1/status", "<", 0.005),
        ("agent_success_rate >= 99%", "agent_success_rate", None, ">=", 0.99),
        ("agent_success_rate(codegen) >= 95%", "agent_success_rate", "codegen", ">=", 0.95),
        ("rps > 20", "rps", None, ">", 20),
        ("rps(GET /v1/status) > 50", "rps", "GET /v1/status", ">", 50),
        ("requests > 100", "requests", None, ">", 100),
        ("error_rate <= 0.02", "error_rate", None, "<=", 0.02),
        ("  max( GET  /v1/status )==100 ", "max", "GET /v1/status", "==", 100),
        ("avg(GET /v1/status) != 1.5s", "avg", "GET /v1/status", "!=", 1500),
    ],
)
def test_parse_gate_reads_k6_style_expressions(expr, metric, entry, op, threshold):
    gate = parse_gate(expr)
    assert (gate.metric, gate.entry, gate.op) == (metric, entry, op)
    assert gate.threshold == pytest.approx(threshold)
    assert not gate.server


def test_parse_gate_reads_server_side_gates():
    gate = parse_gate("server.p95(/v1/agents/codegen) < 900ms")
    assert gate.server and gate.entry == "/v1/agents/codegen" and gate.threshold == 900
    assert gate.name == "server.p95(/v1/agents/codegen)"


@pytest.mark.parametrize(
    ("expr", "needle"),
    [
        ("p97(GET /v1/status) < 1ms", "unknown metric 'p97'"),
        ("latency < 5", "unknown metric 'latency'"),
        ("p95 < 800ms", "p95 needs an entry"),
        ("p95(GET /x) < 800%", "takes ms or s"),
        ("error_rate < 5ms", "takes %"),
        ("agent_success_rate >= 99", "above 1"),
        ("rps > 20ms", "takes no unit"),
        ("p95(GET /x) =< 3", "malformed"),
        ("p95(GET /x) < fast", "malformed"),
        ("p95() < 3", "empty entry"),
        ("", "malformed"),
    ],
)
def test_parse_gate_names_the_problem_and_the_expected_form(expr, needle):
    with pytest.raises(ConfigError) as err:
        parse_gate(expr)
    assert needle in str(err.value)
    assert repr(expr) in str(err.value)


def test_evaluate_passes_and_fails_with_observed_values():
    exprs = [
        "p95(POST /v1/agents/codegen) < 800ms",
        "p99(POST /v1/agents/codegen) < 1s",
        "error_rate < 1%",
        "agent_success_rate >= 99%",
        "agent_success_rate(codegen) >= 95%",
        "rps > 20",
        "rps(GET /v1/status) > 50",
        "requests > 100",
        "p90(POST /v1/agents/codegen) <= 600",
        "avg(POST /v1/agents/codegen) < 400",
    ]
    results = evaluate(parse_gates(exprs), SUMMARY)
    assert [r.passed for r in results] == [
        True,
        False,
        True,
        False,
        True,
        True,
        False,
        True,
        True,
        True,
    ]
    assert results[0].observed == 750 and results[0].name == "p95(POST /v1/agents/codegen)"
    assert "observed 1200ms, expected < 1000ms" in results[1].reason
    assert results[3].observed == pytest.approx(0.97)


def test_entry_may_be_named_without_its_request_type_when_unique():
    [result] = evaluate([parse_gate("p95(/v1/status) < 20ms")], SUMMARY)
    assert result.passed and result.observed == 12


def test_unknown_entry_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match=r"unknown entry 'GET /v1/nope'.*GET /v1/status"):
        evaluate([parse_gate("p95(GET /v1/nope) < 1s")], SUMMARY)


def test_unknown_entry_mid_run_is_not_evaluable_instead():
    [result] = evaluate([parse_gate("p95(GET /v1/nope) < 1s")], SUMMARY, strict=False)
    assert result.observed is None and not result.passed


def test_entry_without_samples_fails_as_not_evaluable():
    [result] = evaluate([parse_gate("p99(TTC research) < 30s")], SUMMARY)
    assert result.observed is None and not result.passed and "no requests" in result.reason


def test_missing_scenario_outcomes_fail_as_not_evaluable():
    [result] = evaluate([parse_gate("agent_success_rate(research) >= 90%")], SUMMARY)
    assert not result.passed and "no research outcomes" in result.reason


def test_server_gate_without_server_view_fails_with_a_reason():
    [result] = evaluate([parse_gate("server.p95(/v1/agents/codegen) < 900ms")], SUMMARY)
    assert result.observed is None and not result.passed
    assert "server-side view missing" in result.reason


SERVER = {
    "source": "http://127.0.0.1:9090",
    "routes": {
        "/v1/agents/codegen": {
            "requests": 400,
            "errors_5xx": 2,
            "error_rate": 0.005,
            "rps": 10.0,
            "p50_ms": 280.0,
            "p95_ms": 810.0,
            "p99_ms": 1100.0,
        },
        "/v1/status": {"requests": 600, "errors_5xx": 0, "error_rate": 0.0, "rps": 15.0},
        "/healthz": {"requests": 50, "errors_5xx": 50, "error_rate": 1.0, "rps": 1.0},
    },
    "requests": 1000,
    "rps": 25.0,
    "agent_success_rate": 0.97,
    "agents": {"codegen": {"outcomes": {"success": 97}, "success_rate": 0.97}},
}


@pytest.mark.parametrize(
    ("expr", "observed", "passed"),
    [
        ("server.p95(/v1/agents/codegen) < 900ms", 810, True),
        ("server.p99(/v1/agents/codegen) < 1s", 1100, False),
        ("server.rps > 30", 25, False),
        ("server.requests >= 1000", 1000, True),
        ("server.rps(/v1/status) > 10", 15, True),
        ("server.error_rate < 1%", 0.002, True),
        ("server.error_rate(/v1/agents/codegen) < 1%", 0.005, True),
        ("server.failures(/v1/agents/codegen) == 2", 2, True),
        ("server.agent_success_rate >= 99%", 0.97, False),
        ("server.agent_success_rate(codegen) >= 95%", 0.97, True),
    ],
)
def test_server_gates_read_the_prometheus_view(expr, observed, passed):
    [result] = evaluate([parse_gate(expr)], {**SUMMARY, "server_side": SERVER})
    assert result.observed == pytest.approx(observed) and result.passed is passed


def test_server_gate_on_a_route_without_server_data_is_not_evaluable():
    [result] = evaluate(
        [parse_gate("server.p95(/v1/status) < 1s")], {**SUMMARY, "server_side": SERVER}
    )
    assert result.observed is None and not result.passed and "no server-side p95" in result.reason


def test_server_gate_says_why_the_view_is_missing():
    summary = {**SUMMARY, "server_side": {"source": None, "missing": "--no-prometheus"}}
    [result] = evaluate([parse_gate("server.rps > 1")], summary)
    assert not result.passed and result.reason == "server-side view missing: --no-prometheus"


def test_server_gate_on_an_unknown_route_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown route '/v1/nope'"):
        evaluate([parse_gate("server.p95(/v1/nope) < 900ms")], {**SUMMARY, "server_side": SERVER})


def test_should_abort_only_after_grace_and_only_on_evaluated_failures():
    failing = evaluate(parse_gates(["error_rate < 0.1%", "server.rps > 1"]), SUMMARY)
    assert should_abort(failing, elapsed_s=10, grace_s=30) is None
    reason = should_abort(failing, elapsed_s=31, grace_s=30)
    assert reason is not None and "error_rate < 0.1%" in reason
    not_evaluable = evaluate(parse_gates(["server.rps > 1"]), SUMMARY)
    assert should_abort(not_evaluable, elapsed_s=100, grace_s=30) is None


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(max_size=60))
def test_any_text_parses_or_raises_one_line_config_error(text):
    try:
        parse_gate(text)
    except ConfigError as exc:
        message = str(exc)
        assert message and "\n" not in message.replace("\\n", "")


_PIECES = st.tuples(
    st.sampled_from(["", "server."]),
    st.sampled_from(
        [
            "p50",
            "p95",
            "max",
            "avg",
            "error_rate",
            "agent_success_rate",
            "rps",
            "requests",
            "failures",
            "p42",
            "rate",
        ]
    ),
    st.one_of(st.just(""), st.text(max_size=15).map(lambda s: f"({s})")),
    st.sampled_from(["<", "<=", ">", ">=", "==", "!=", "=", "=>", ""]),
    st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(str), st.text(max_size=5)),
    st.sampled_from(["", "ms", "s", "%", "m", "x"]),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_PIECES)
def test_near_miss_expressions_parse_or_fail_cleanly_and_evaluate_without_crashing(pieces):
    expr = "{}{}{} {} {}{}".format(*pieces)
    try:
        gate = parse_gate(expr)
    except ConfigError as exc:
        assert "\n" not in str(exc).replace("\\n", "")
        return
    try:
        [result] = evaluate([gate], SUMMARY)
    except ConfigError as exc:
        assert "\n" not in str(exc).replace("\\n", "")
    else:
        assert result.passed in (True, False)


def test_agent_success_gates_take_any_scenario_name_of_the_description():
    """Scenario names are free (they come from the API description): any name parses, and a
    run without that scenario's outcomes fails the gate saying so."""
    gate = parse_gate("agent_success_rate(chat) >= 90%")
    assert (gate.entry, gate.threshold) == ("chat", 0.9)
    [result] = evaluate([gate], {"agent_outcomes": {}, "endpoints": {}})
    assert not result.passed and "no chat outcomes" in result.reason
