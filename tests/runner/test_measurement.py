"""The console's and report's sentences on how a run was measured."""

from __future__ import annotations

from agentload.metrics.measurement import CLOSED_LOOP_NOTE, measurement_notes


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


def test_requests_cut_off_at_stop_are_said_not_hidden():
    notes = measurement_notes({"load_model": "closed", "totals": {"cut_off": 3}})
    assert notes[-1].startswith("3 requests were still in flight when the stop timeout ran out")


def test_a_run_recorded_before_the_load_model_existed_gets_no_note():
    assert measurement_notes({"totals": {"cut_off": None}}) == []
