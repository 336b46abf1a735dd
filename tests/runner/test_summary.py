"""summary.json: contract keys, verdicts, interrupted runs, atomic writes; junit.xml."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from agentload.errors import AgentloadError, ConfigError, ExitCode
from agentload.gates import parse_gates
from agentload.metrics.latency import FAILED_KEYS, META, EntryLatency
from agentload.results.junit import write_junit
from agentload.results.summary import build_summary, verdict_for, write_json_atomic

CONTRACT = {
    "phase",
    "verdict",
    "exit_code",
    "started_at",
    "duration_s",
    "target",
    "users",
    "totals",
    "endpoints",
    "gates",
    "abort_reason",
    "stress",
    "profile",
}
ENTRY_KEYS = {
    "requests", "failures", "error_rate", "rps", "p50_ms", "p90_ms", "p95_ms", "p99_ms",
    "p999_ms", "max_ms", "avg_ms", "failed",
}  # fmt: skip

TIMELINE = [
    {
        "t": 1.0,
        "users": 5,
        "entries": {
            "GET /v1/status": {"requests": 10, "failures": 0, "hist": {"10": 10}},
            "POST /v1/agents/codegen": {"requests": 2, "failures": 0, "hist": {"400": 2}},
            "TTFT codegen": {"requests": 2, "failures": 0, "hist": {"90": 2}},
        },
        "outcomes": {"codegen": {"success": 2}},
    },
    {
        "t": 2.0,
        "users": 10,
        "entries": {
            "GET /v1/status": {"requests": 30, "failures": 1, "hist": {"10": 15, "50": 5}},
            "POST /v1/agents/codegen": {"requests": 6, "failures": 1, "hist": {"600": 4}},
            "TTFT codegen": {"requests": 6, "failures": 0, "hist": {"95": 4}},
        },
        "outcomes": {"codegen": {"success": 5, "invalid": 1}, "status": {"success": 30}},
    },
]
FINAL = {
    "duration_s": 2.0,
    "entries": {
        "GET /v1/status": {
            "requests": 30,
            "failures": 1,
            "p50_ms": 10,
            "p95_ms": 50,
            "p99_ms": 50,
            "max_ms": 52,
            "avg_ms": 20.0,
            "rps": 15.0,
        },
        "POST /v1/agents/codegen": {
            "requests": 6,
            "failures": 1,
            "p50_ms": 600,
            "p95_ms": 600,
            "p99_ms": 600,
            "max_ms": 640,
            "avg_ms": 530.0,
            "rps": 3.0,
        },
        "TTFT codegen": {
            "requests": 6,
            "failures": 0,
            "p50_ms": 95,
            "p95_ms": 95,
            "p99_ms": 95,
            "max_ms": 96,
            "avg_ms": 93.0,
            "rps": 3.0,
        },
    },
    "outcomes": {"codegen": {"success": 5, "invalid": 1}, "status": {"success": 30}},
}
STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _summary(**kw):
    args = {
        "phase": "smoke",
        "started_at": STARTED,
        "target": "http://127.0.0.1:8000",
        "final": FINAL,
        "timeline": TIMELINE,
    } | kw
    return build_summary(**args)


def test_summary_has_the_contract_keys_and_http_only_totals():
    # gates these 36 requests can decide (their 95 % intervals lie wholly below the thresholds)
    summary = _summary(gates=parse_gates(["error_rate < 25%", "p50(GET /v1/status) < 100ms"]))
    assert CONTRACT <= set(summary)
    assert summary["verdict"] == "pass" and summary["exit_code"] == 0
    assert summary["started_at"] == "2026-01-02T03:04:05+00:00"
    assert summary["users"] == 10 and summary["duration_s"] == 2.0
    totals = summary["totals"]
    intervals = {k: totals.pop(k) for k in ("rps_ci", "error_rate_ci", "agent_success_rate_ci")}
    assert totals == {
        "requests": 36,
        "failures": 2,
        "rps": 18.0,
        "error_rate": pytest.approx(2 / 36, abs=1e-6),
        "agent_success_rate": pytest.approx(35 / 36, abs=1e-6),
        "in_flight_at_stop": None,
        "cut_off": None,
        "aborted_at_stop": None,
    }
    for key, (lo, hi) in intervals.items():
        assert lo < totals[key.removesuffix("_ci")] < hi
    assert summary["window"] is None and summary["load_model"] == "closed"
    for stats in summary["endpoints"].values():
        assert ENTRY_KEYS <= set(stats)
    assert summary["endpoints"]["GET /v1/status"]["p95_ms"] == 50
    codegen = summary["agent_outcomes"]["codegen"]
    lo, hi = codegen.pop("success_rate_ci")
    assert codegen == {
        "invalid": 1,
        "success": 5,
        "total": 6,
        "success_rate": pytest.approx(0.8333, abs=1e-4),
    }
    assert lo < codegen["success_rate"] < hi
    assert [g["passed"] for g in summary["gates"]] == [True, True]
    assert [g["status"] for g in summary["gates"]] == ["pass", "pass"]
    json.dumps(summary, allow_nan=False)


def test_a_failed_gate_gives_verdict_fail_and_exit_1():
    summary = _summary(gates=parse_gates(["agent_success_rate(codegen) >= 95%"]))
    assert (summary["verdict"], summary["exit_code"]) == ("fail", 1)
    assert summary["gates"][0]["observed"] == pytest.approx(0.8333, abs=1e-4)


def test_an_interrupted_run_is_summarised_from_the_timeline_alone():
    summary = _summary(
        final=None,
        abort_reason="target died (exit -9)",
        gates=parse_gates(["p95(GET /v1/nope) < 1s", "error_rate < 50%"]),
    )
    assert (summary["verdict"], summary["exit_code"]) == ("aborted", 3)
    assert summary["abort_reason"] == "target died (exit -9)"
    status = summary["endpoints"]["GET /v1/status"]
    assert status["requests"] == 30 and status["rps"] == 15.0
    assert status["p95_ms"] == pytest.approx(50, rel=1e-3)
    assert summary["gates"][0]["observed"] is None and summary["gates"][1]["passed"]


def _hdr_entry(requests, ok, failed=()):
    latency = EntryLatency()
    for ms in ok:
        latency.record(ms)
    for ms in failed:
        latency.record(ms, failed=True)
    return {"requests": requests, "failures": len(failed), "rps": requests / 2.0,
            **latency.to_json()}  # fmt: skip


HDR_FINAL = {
    "duration_s": 2.0,
    "histogram": META,
    "entries": {
        "GET /v1/status": _hdr_entry(100, [10.0] * 90, [1.0] * 10),
        "POST /v1/agents/codegen": _hdr_entry(20, [400.0] * 19 + [845.3]),
        "TTFT codegen": _hdr_entry(20, [90.0] * 20),
    },
    "outcomes": {"codegen": {"success": 20}},
}


def test_endpoints_come_from_final_jsons_exact_histograms_successes_apart():
    """P95 is over successful requests (fast failures do not pull it down), failures have their
    own figures, error_rate is per entry, and meta.histogram says which histogram it was."""
    summary = _summary(final=HDR_FINAL, timeline=[], extra={"meta": {"git": "abc"}})
    status = summary["endpoints"]["GET /v1/status"]
    assert ENTRY_KEYS <= set(status)
    assert status["error_rate"] == pytest.approx(0.1)
    assert status["p50_ms"] == pytest.approx(10.0, rel=1e-3)
    assert status["p95_ms"] == pytest.approx(10.0, rel=1e-3)
    assert set(status["failed"]) == set(FAILED_KEYS)
    assert status["failed"]["requests"] == 10
    assert status["failed"]["p95_ms"] == pytest.approx(1.0, rel=1e-3)
    assert summary["meta"] == {"git": "abc", "histogram": META}
    json.dumps(summary, allow_nan=False)


def test_no_percentile_in_the_summary_is_above_its_max():
    """The recorded smoke run had codegen P99 850 ms above its max 845 ms; not any more."""
    summary = _summary(final=HDR_FINAL, timeline=[])
    codegen = summary["endpoints"]["POST /v1/agents/codegen"]
    assert codegen["max_ms"] == pytest.approx(845.3, rel=1e-3)
    for stats in summary["endpoints"].values():
        for key in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms"):
            assert stats[key] <= stats["max_ms"]


def test_error_rate_of_an_entry_gates_on_the_entrys_own_failures():
    passing = _summary(final=HDR_FINAL, gates=parse_gates(["error_rate(GET /v1/status) < 20%"]))
    failing = _summary(final=HDR_FINAL, gates=parse_gates(["error_rate(GET /v1/status) < 5%"]))
    assert passing["gates"][0]["observed"] == pytest.approx(0.1) and passing["verdict"] == "pass"
    assert failing["verdict"] == "fail"


def test_a_run_recorded_before_the_exact_histograms_says_so():
    summary = _summary()
    assert summary["meta"]["histogram"]["kind"] == "locust-rounded"
    assert summary["endpoints"]["GET /v1/status"]["error_rate"] == pytest.approx(1 / 30, abs=1e-6)


def test_unknown_gate_entry_after_a_complete_run_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown entry 'GET /v1/nope'"):
        _summary(gates=parse_gates(["p95(GET /v1/nope) < 1s"]))


def test_load_phase_reports_the_degradation_point():
    summary = _summary(phase="load")
    assert summary["load"]["entry"] == "POST /v1/agents/codegen"
    assert "degradation" in summary["load"]


def test_verdict_for_prefers_aborted_over_failed():
    failed = _summary(gates=parse_gates(["rps > 1000"]))
    from agentload.gates import evaluate

    results = evaluate(parse_gates(["rps > 1000"]), failed)
    assert verdict_for(results, aborted=True) == ("aborted", ExitCode.ABORTED)
    assert verdict_for(results, aborted=False) == ("fail", ExitCode.GATE_FAILED)
    assert verdict_for([], aborted=False) == ("pass", ExitCode.OK)


def test_write_json_atomic_replaces_the_file_and_writes_nan_as_null(tmp_path):
    path = tmp_path / "summary.json"
    write_json_atomic(path, {"a": 1})
    write_json_atomic(path, {"a": float("nan"), "b": [float("inf")]})
    assert json.loads(path.read_text()) == {"a": None, "b": [None]}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_write_json_atomic_under_a_file_instead_of_a_folder_is_one_clear_error(tmp_path):
    (tmp_path / "out").write_text("not a folder")
    with pytest.raises(AgentloadError, match=r"cannot write .*summary.json: Not a directory"):
        write_json_atomic(tmp_path / "out" / "summary.json", {})


def test_write_json_atomic_into_a_missing_folder_is_one_clear_error(tmp_path):
    with pytest.raises(AgentloadError, match="cannot write .*: No such file or directory"):
        write_json_atomic(tmp_path / "gone" / "summary.json", {})


def test_junit_has_one_case_per_gate_and_one_for_the_run(tmp_path):
    summary = _summary(gates=parse_gates(["error_rate < 1%", "rps > 1"]))
    path = tmp_path / "junit.xml"
    write_junit(path, summary)
    suite = ET.parse(path).getroot()
    assert suite.tag == "testsuite" and suite.get("name") == "agentload.smoke"
    assert (suite.get("tests"), suite.get("failures")) == ("3", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"run completed", "error_rate < 1%", "rps > 1"}
    failure = cases["error_rate < 1%"].find("failure")
    assert failure is not None
    assert failure.get("message") == "error_rate < 1%: observed 5.556%, expected < 1%"
    assert cases["rps > 1"].find("failure") is None
    assert cases["run completed"].find("failure") is None


def test_junit_marks_an_aborted_run_and_not_evaluable_gates(tmp_path):
    summary = _summary(
        final=None,
        abort_reason="target unreachable",
        gates=parse_gates(["server.p95(/v1/status) < 1s"]),
    )
    path = tmp_path / "junit.xml"
    write_junit(path, summary)
    cases = {case.get("name"): case for case in ET.parse(path).getroot().iter("testcase")}
    run_failure = cases["run completed"].find("failure")
    assert run_failure is not None and "target unreachable" in run_failure.get("message")
    gate_failure = cases["server.p95(/v1/status) < 1s"].find("failure")
    assert "observed n/a" in gate_failure.get("message")
    assert "server-side view missing" in gate_failure.get("message")


def test_strict_gates_false_reports_unknown_entries_as_not_evaluable():
    summary = _summary(gates=parse_gates(["p95(GET /v1/nope) < 1s"]), strict_gates=False)
    assert summary["verdict"] == "fail" and summary["gates"][0]["observed"] is None


def _hdr_final(window=None, open_model=None):
    ok = EntryLatency()
    for ms in (100.0, 200.0, 300.0):
        ok.record(ms)
    final = {
        "duration_s": 12.0,
        "histogram": META,
        "entries": {"POST /v1/chat": {"requests": 3, "failures": 0, "rps": 0.25, **ok.to_json()}},
    }
    if window is not None:
        final["window"] = window
    if open_model is not None:
        final["open_model"] = open_model
    return final


def test_every_rate_is_over_the_measurement_window_first_request_to_last_response():
    window = {"start": 1000.0, "end": 1010.0, "steady_start": 1002.5,
              "in_flight_at_stop": 4, "cut_off": 1}  # fmt: skip
    summary = _summary(final=_hdr_final(window), timeline=[])
    assert summary["window"] == {
        "start": 1000.0, "end": 1010.0, "steady_start": 1002.5, "seconds": 10.0
    }  # fmt: skip
    assert summary["duration_s"] == 10.0
    assert summary["totals"]["rps"] == pytest.approx(0.3)
    assert summary["endpoints"]["POST /v1/chat"]["rps"] == pytest.approx(0.3)
    assert summary["totals"]["in_flight_at_stop"] == 4 and summary["totals"]["cut_off"] == 1
    assert summary["totals"]["aborted_at_stop"] == 0


def test_the_load_model_is_closed_without_arrivals_and_open_with_them():
    assert "arrivals" not in _summary(final=_hdr_final(), timeline=[])
    summary = _summary(
        final=_hdr_final(open_model={"sent": 90, "late": 7, "dropped": 10}), timeline=[]
    )
    assert summary["load_model"] == "open"
    assert summary["arrivals"] == {"scheduled": 100, "sent": 90, "late": 7, "dropped": 10}


def test_a_run_given_its_planned_length_says_whether_it_was_measured():
    """The rate phase and the sweep's runs pass their planned length: a 10 s window of a 12 s
    run is measured (None); the same window of a 60 s run is not, and the summary says why.
    Other runs have no such key."""
    window = {"start": 1000.0, "end": 1010.0}
    assert _summary(final=_hdr_final(window), timeline=[], planned_s=12.0)["not_measured"] is None
    reason = _summary(final=_hdr_final(window), timeline=[], planned_s=60.0)["not_measured"]
    assert reason == "its measurement window (10.000s) is under 50% of the 60s run"
    assert "not_measured" not in _summary(final=_hdr_final(window), timeline=[])
