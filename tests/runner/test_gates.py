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
            "knee_rps",
            "max_rps",
            "knee_found",
            "dropped_rate",
            "peak_error_rate",
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


STEPS = [
    {"users": 2, "rps": 20.0, "p95_ms": 100.0, "error_rate": 0.0},
    {"users": 4, "rps": 40.0, "p95_ms": 100.0, "error_rate": 0.0},
    {"users": 6, "rps": 62.5, "p95_ms": 110.0, "error_rate": 0.2},
]
KNEE = {
    "steps": STEPS[:2],
    "knee": {"users": 4, "rps": 40.0, "p95_ms": 100.0},
    "not_saturated": None,
    "stop_reason": "throughput stopped growing",
    "saturated": None,
}
NO_KNEE = {
    "steps": STEPS[:2],
    "knee": None,
    "not_saturated": {"users": 4, "rps": 40.0},
    "stop_reason": "reached max_steps (2) at 4 users without breaking",
    "saturated": None,
}


@pytest.mark.parametrize(
    ("expr", "metric", "op", "threshold"),
    [
        ("knee_rps >= 50", "knee_rps", ">=", 50),
        ("max_rps > 0", "max_rps", ">", 0),
        ("knee_found", "knee_found", "==", 1),
        ("  knee_found ", "knee_found", "==", 1),
        ("knee_found == 0", "knee_found", "==", 0),
        ("dropped_rate < 1%", "dropped_rate", "<", 0.01),
        ("dropped_rate <= 0.02", "dropped_rate", "<=", 0.02),
        ("peak_error_rate < 5%", "peak_error_rate", "<", 0.05),
    ],
)
def test_run_gates_parse_with_their_units(expr, metric, op, threshold):
    """The stress search's figures and the open model's dropped share parse; a bare
    ``knee_found`` means ``knee_found == true``."""
    gate = parse_gate(expr)
    assert (gate.metric, gate.entry, gate.op, gate.server) == (metric, None, op, False)
    assert gate.threshold == pytest.approx(threshold)


@pytest.mark.parametrize(
    ("expr", "needle"),
    [
        ("knee_rps(GET /x) >= 50", "figure of the whole run"),
        ("server.max_rps > 1", "figure of the whole run"),
        ("knee_found(GET /x) == 1", "figure of the whole run"),
        ("dropped_rate(GET /x) < 1%", "figure of the whole run"),
        ("knee_found == 2", "true (1) or false (0)"),
        ("knee_rps >= 50%", "takes no unit"),
        ("dropped_rate < 5", "above 1"),
        ("peak_error_rate(GET /x) < 5%", "figure of the whole run"),
        ("knee_rps", "malformed"),
        ("server.knee_found", "malformed"),
    ],
)
def test_run_gates_refuse_what_does_not_fit_them(expr, needle):
    with pytest.raises(ConfigError) as err:
        parse_gate(expr)
    assert needle in str(err.value) and repr(expr) in str(err.value)


def test_stress_gates_read_the_knee_and_the_best_step():
    """knee_rps is the knee's rps; max_rps the best step's rps of successful requests
    (62.5 rps at 20 % errors is 50 good rps); knee_found is true."""
    summary = {**SUMMARY, "stress": {**KNEE, "steps": STEPS}}
    exprs = ["knee_rps >= 50", "knee_rps >= 40", "max_rps >= 50", "max_rps > 50", "knee_found"]
    results = evaluate(parse_gates(exprs), summary)
    assert [r.passed for r in results] == [False, True, True, False, True]
    assert [r.observed for r in results] == [40.0, 40.0, 50.0, 50.0, 1.0]
    assert results[0].reason == "observed 40, expected >= 50"
    assert results[4].reason == "observed true"


def test_a_search_without_a_knee_fails_the_knee_gates_saying_how_far_it_went():
    """No knee: knee_rps is not evaluable and knee_found is false, both with the reason; the
    best step still gates max_rps."""
    summary = {**SUMMARY, "stress": NO_KNEE}
    knee_rps, found, best = evaluate(parse_gates(["knee_rps >= 50", "knee_found", "max_rps > 0"]),
                                     summary)  # fmt: skip
    assert knee_rps.observed is None and not knee_rps.passed
    assert knee_rps.reason == "no knee: not saturated up to 4 users (40.0 rps)"
    assert found.observed == 0.0 and not found.passed
    assert "no knee: not saturated up to 4 users (40.0 rps)" in found.reason
    assert best.passed and best.observed == 40.0


def test_a_knee_search_that_broke_a_limit_names_its_stop_reason():
    stress = {**NO_KNEE, "not_saturated": None, "stop_reason": "error rate 8.0% > 5.0% at 6 users"}
    [result] = evaluate([parse_gate("knee_found")], {**SUMMARY, "stress": stress})
    assert not result.passed and "no knee (stopped: error rate 8.0% > 5.0%" in result.reason


@pytest.mark.parametrize("stress", [None, {}])
def test_stress_gates_without_a_stress_search_fail_saying_so(stress):
    summary = {**SUMMARY, "stress": stress} if stress is not None else SUMMARY
    results = evaluate(parse_gates(["knee_rps > 1", "max_rps > 0", "knee_found"]), summary)
    if stress is None:
        assert all(r.observed is None and "no stress search" in r.reason for r in results)
    else:
        assert [r.passed for r in results] == [False, False, False]
        assert "no stress step was measured" in results[1].reason


def test_stress_gates_never_abort_a_run_mid_way():
    """Mid-run summaries have no stress section yet: not evaluable, so no early abort."""
    results = evaluate(parse_gates(["knee_found", "knee_rps > 1000"]), SUMMARY, strict=False)
    assert should_abort(results, elapsed_s=100, grace_s=0) is None


def test_dropped_rate_reads_the_open_model_arrivals():
    arrivals = {"scheduled": 200, "sent": 190, "late": 30, "dropped": 10}
    summary = {**SUMMARY, "load_model": "open", "arrivals": arrivals}
    results = evaluate(parse_gates(["dropped_rate < 1%", "dropped_rate < 10%"]), summary)
    assert [r.observed for r in results] == [pytest.approx(0.05)] * 2
    assert [r.passed for r in results] == [False, True]
    assert "observed 5%, expected < 1%" in results[0].reason


def test_dropped_rate_of_a_closed_loop_run_fails_saying_so():
    [result] = evaluate([parse_gate("dropped_rate < 1%")], {**SUMMARY, "load_model": "closed"})
    assert result.observed is None and not result.passed
    assert result.reason == "no arrivals: the run was closed-loop"
    empty = {**SUMMARY, "arrivals": {"scheduled": 0, "sent": 0, "late": 0, "dropped": 0}}
    [result] = evaluate([parse_gate("dropped_rate < 1%")], empty)
    assert result.observed is None and "no arrivals were scheduled" in result.reason


def test_server_latency_gates_say_they_are_bucket_estimates():
    """server.p95: the reason says histogram-bucket estimate, with the bucket when known."""
    bounded = {**SERVER["routes"]["/v1/agents/codegen"], "p95_lo_ms": 750.0, "p95_hi_ms": 1000.0}
    server = {**SERVER, "routes": {**SERVER["routes"], "/v1/agents/codegen": bounded}}
    passing, failing, p99 = evaluate(
        parse_gates(["server.p95(/v1/agents/codegen) < 900ms",
                     "server.p95(/v1/agents/codegen) < 800ms",
                     "server.p99(/v1/agents/codegen) < 2s"]),
        {**SUMMARY, "server_side": server},
    )  # fmt: skip
    assert passing.passed and passing.reason == (
        "observed 810ms (histogram-bucket estimate, true value in (750, 1000] ms)"
    )
    assert not failing.passed and failing.reason == (
        "observed 810ms (histogram-bucket estimate, true value in (750, 1000] ms), expected < 800ms"
    )
    assert p99.passed and "histogram-bucket estimate" in p99.reason and "(" in p99.reason


def test_peak_error_rate_is_at_the_knee_or_the_largest_step_when_not_saturated():
    """The error rate where throughput peaked: the knee's step; the largest step when the search
    ran out of steps; not evaluable when a limit broke the search before any knee."""
    errors = [{**s, "error_rate": e} for s, e in zip(STEPS[:2], (0.0, 0.02), strict=True)]
    gate = [parse_gate("peak_error_rate < 1%")]
    [at_knee] = evaluate(gate, {**SUMMARY, "stress": {**KNEE, "steps": errors}})
    assert at_knee.observed == pytest.approx(0.02) and not at_knee.passed
    assert "observed 2%, expected < 1%" in at_knee.reason
    [largest] = evaluate(gate, {**SUMMARY, "stress": {**NO_KNEE, "steps": STEPS[:2]}})
    assert largest.observed == 0.0 and largest.passed
    broke = {**NO_KNEE, "not_saturated": None, "stop_reason": "error rate 50.0% > 5.0% at 2 users"}
    [result] = evaluate(gate, {**SUMMARY, "stress": broke})
    assert result.observed is None and "no knee (stopped: error rate 50.0%" in result.reason


LLM_SUMMARY = {
    "endpoints": {},
    "totals": {},
    "llm": {
        "chat": {
            "ttft_ms": {"p50": 210.0, "p95": 240.0, "mean": 215.0},
            "itl_ms": {"p95": 12.0},
            "output_tokens_per_s": 300.0,
            "total_tokens_per_s": 500.0,
        },
        "code": {"output_tokens_per_s": 100.0},
    },
    "goodput": {
        "chat": {"requests": 10, "met": 9, "share": 0.9},
        "code": {"requests": 10, "met": 10, "share": 1.0},
    },
}


@pytest.mark.parametrize(
    ("expr", "passed", "observed"),
    [
        ("p95(ttft:chat) < 500ms", True, 240.0),
        ("avg(ttft:chat) < 200ms", False, 215.0),
        ("p95(itl:chat) < 10ms", False, 12.0),
        ("output_tokens_per_s >= 350", True, 400.0),
        ("output_tokens_per_s(chat) >= 350", False, 300.0),
        ("goodput(chat) >= 90%", True, 0.9),
        ("goodput >= 96%", False, 0.95),
    ],
)
def test_llm_and_goodput_gates_read_the_llm_sections(expr, passed, observed):
    (result,) = evaluate([parse_gate(expr)], LLM_SUMMARY)
    assert result.passed is passed and result.observed == pytest.approx(observed)


def test_token_rate_gates_name_the_calls_their_tokens_are_counted_over():
    summary = {"llm": {"chat": {"requests": 120, "output_tokens_per_s": 300.0,
                                "tokens_base": "streamed calls"},
                       "code": {"requests": 30, "output_tokens_per_s": 100.0,
                                "tokens_base": "streamed calls"}}}  # fmt: skip
    one, both = evaluate(
        [parse_gate("output_tokens_per_s(chat) >= 350"), parse_gate("output_tokens_per_s > 1")],
        summary,
    )
    assert one.reason == "observed 300 (tokens of 120 streamed calls), expected >= 350"
    assert both.reason == "observed 400 (tokens of 150 streamed calls)"


def test_goodput_star_gates_each_scenario_with_slos():
    results = evaluate([parse_gate("goodput(*) >= 95%")], LLM_SUMMARY)
    assert [(r.name, r.passed) for r in results] == [("goodput(chat)", False),
                                                     ("goodput(code)", True)]  # fmt: skip


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("goodput(chat) >= 90%", "no SLOs in this run"),
        ("p95(ttft:chat) < 1s", "no streamed requests in this run"),
        ("max_rate_under_slo >= 5", "no sweep in this run"),
    ],
)
def test_llm_gates_without_their_data_fail_saying_what_is_missing(expr, reason):
    (result,) = evaluate([parse_gate(expr)], {"endpoints": {}, "totals": {}})
    assert not result.passed and result.observed is None and reason in result.reason


def test_llm_gates_are_client_figures():
    with pytest.raises(ConfigError, match="client figure"):
        parse_gate("server.goodput(chat) >= 90%")
