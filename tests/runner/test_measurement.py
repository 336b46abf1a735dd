"""The console's and report's sentences on how a run was measured."""

from __future__ import annotations

from agentload.metrics.measurement import CLOSED_LOOP_NOTE, measurement_notes, not_measured


def test_a_closed_loop_run_says_its_percentiles_under_report_stalls():
    notes = measurement_notes({"load_model": "closed", "totals": {"cut_off": 0}})
    assert notes == [CLOSED_LOOP_NOTE]
    assert "under-report stalls" in CLOSED_LOOP_NOTE and "open model" in CLOSED_LOOP_NOTE


def test_an_open_model_run_gives_its_arrivals_instead():
    arrivals = {"scheduled": 100, "sent": 90, "late": 7, "dropped": 10}
    notes = measurement_notes({"load_model": "open", "arrivals": arrivals, "totals": {}})
    assert notes == [
        "open model: 100 arrivals scheduled, 90 sent, 7 late, 10 dropped (failures of their entry)"
    ]


def test_requests_cut_off_at_stop_are_said_and_counted():
    notes = measurement_notes({"load_model": "closed", "totals": {"cut_off": 3}})
    assert notes[-1] == (
        "3 requests were still in flight when the stop timeout ran out: cut off, each a failure "
        "of its entry ('cut off at stop') and its task an outcome 'timeout'"
    )


def test_a_run_recorded_before_the_load_model_existed_gets_no_note():
    assert measurement_notes({"totals": {"cut_off": None}}) == []


def test_a_run_is_measured_when_its_window_covers_it_and_it_counted_what_it_sent():
    """A window over half the planned run and (the open model) at least 90 % of the calls sent
    counted: measured (None)."""
    run = {
        "window": {"seconds": 9.5},
        "arrivals": {"sent": 100},
        "agent_outcomes": {"chat": {"success": 80, "timeout": 10, "total": 90}},
    }
    assert not_measured(run, 10.0) is None
    assert not_measured({"window": {"seconds": 5.0}}, 10.0) is None  # closed loop: no arrivals


def test_a_window_of_milliseconds_is_not_a_measurement():
    """One request in 5 ms is not 200 req/s: a window under half the run is not measured, and
    neither is a run without a window (no request)."""
    reason = not_measured({"window": {"seconds": 0.005}}, 10.0)
    assert reason == "its measurement window (0.005s) is under 50% of the 10s run"
    assert not_measured({"window": None}, 10.0) == (
        "its measurement window (none: no request) is under 50% of the 10s run"
    )


def test_a_rate_that_counted_far_fewer_calls_than_it_sent_is_not_measured():
    run = {
        "window": {"seconds": 10.0},
        "arrivals": {"sent": 927},
        "agent_outcomes": {"chat": {"success": 457, "total": 457}},
    }
    assert not_measured(run, 10.0) == "457 of the 927 calls sent were counted (under 90%)"


def test_a_run_not_measured_says_so_in_its_notes():
    notes = measurement_notes(
        {"totals": {}, "not_measured": "457 of the 927 calls sent were counted"}
    )
    assert notes == [
        "not measured: 457 of the 927 calls sent were counted; its rates and percentiles say "
        "nothing of the target"
    ]
