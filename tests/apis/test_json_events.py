"""The ``json-events`` reader over streams recorded from the real a2a-sdk 1.3.0 server
(tests/servers/a2a_app.py, A2A protocol 1.0): tokens, result, errors, cut-off streams."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentload.apis.json_events import JsonEventsReader

A2A_TOKENS = ["result.artifactUpdate.artifact.parts", "result.message.parts"]
TASK, CTX = "100a61cd-22a1-4cc3-80c1-20c2fd21bcdb", "1633e7a6-b475-41ca-b9e7-4e8b9ced2103"
IDS = f'"taskId": "{TASK}", "contextId": "{CTX}"'
# SendStreamingMessage to the echo agent, as the server sent it (one blank line after each event).
ECHO = [
    'data: {"result": {"task": {"id": "' + TASK + '", "contextId": "' + CTX + '", "status": '
    '{"state": "TASK_STATE_SUBMITTED"}}}, "id": 3, "jsonrpc": "2.0"}',
    'data: {"result": {"statusUpdate": {' + IDS + ', "status": {"state": "TASK_STATE_WORKING", '
    '"timestamp": "2026-12-06T10:12:21.109848Z"}}}, "id": 3, "jsonrpc": "2.0"}',
    'data: {"result": {"artifactUpdate": {' + IDS + ', "artifact": {"artifactId": "echo", "name": '
    '"echo", "parts": [{"text": "echo:"}]}}}, "id": 3, "jsonrpc": "2.0"}',
    'data: {"result": {"artifactUpdate": {' + IDS + ', "artifact": {"artifactId": "echo", "name": '
    '"echo", "parts": [{"text": " hello"}]}, "append": true}}, "id": 3, "jsonrpc": "2.0"}',
    'data: {"result": {"artifactUpdate": {' + IDS + ', "artifact": {"artifactId": "echo", "name": '
    '"echo", "parts": [{"text": " agent"}]}, "append": true, "lastChunk": true}}, "id": 3, '
    '"jsonrpc": "2.0"}',
    'data: {"result": {"statusUpdate": {' + IDS + ', "status": {"state": "TASK_STATE_COMPLETED", '
    '"timestamp": "2026-12-06T10:12:21.250048Z"}}}, "id": 3, "jsonrpc": "2.0"}',
]
# The failing agent: the task ends failed, its reason in the status message (no JSON-RPC error).
FAILED = [
    *ECHO[:2],
    'data: {"result": {"statusUpdate": {' + IDS + ', "status": {"state": "TASK_STATE_FAILED", '
    '"message": {"messageId": "197323c6", "role": "ROLE_AGENT", "parts": [{"text": "the failing '
    'agent failed on purpose"}]}, "timestamp": "2026-12-06T10:12:21.374574Z"}}}, "id": 3, '
    '"jsonrpc": "2.0"}',
]
# The raising agent: the executor's exception becomes a named SSE error event.
RAISED = [
    *ECHO[:2],
    "event: error\n"
    'data: {"error": {"code": -32603, "message": "the raising agent raised on purpose"}, '
    '"id": 3, "jsonrpc": "2.0"}',
]
# A streamed request refused up front (no A2A-Version header): plain JSON, not SSE.
REFUSED = (
    '{"error":{"code":-32009,"message":"A2A version \'0.3\' is not supported by this handler. '
    'Expected version \'1.0\'.","data":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo",'
    '"reason":"VERSION_NOT_SUPPORTED","domain":"a2a-protocol.org","metadata":{}}]},"id":1,'
    '"jsonrpc":"2.0"}'
)


def _read(events: list[str], reader: JsonEventsReader | None = None, step: float = 0.1) -> Any:
    """Feed each event's lines at 1.0, 1.1, ... (a blank line after each), then finish."""
    reader = reader or JsonEventsReader(A2A_TOKENS)
    now = 1.0
    for event in events:
        for line in [*event.split("\n"), ""]:
            reader.feed(line, now)
        now += step
    reader.finish(now)
    return reader


def test_a2a_stream_tokens_are_the_artifact_parts_and_the_result_the_last_status() -> None:
    """The task and working events are no tokens; each artifact chunk is one, at its arrival;
    the result is the final status update."""
    reader = _read(ECHO)
    assert reader.error == ""
    assert reader.tokens == 3
    assert reader.first_token == pytest.approx(1.2)
    assert reader.token_times == pytest.approx([1.2, 1.3, 1.4])
    assert reader.last_token == pytest.approx(1.4)
    assert reader.text == "echo: hello agent"
    assert reader.result["result"]["statusUpdate"]["status"]["state"] == "TASK_STATE_COMPLETED"
    assert reader.length == sum(len(e) + 2 for e in ECHO)


def test_a_failed_task_is_no_stream_error_its_last_status_is_the_result() -> None:
    """A task that ends failed is judged by the checks on the result, not by the reader."""
    reader = _read(FAILED)
    assert reader.error == "" and reader.tokens == 0 and reader.first_token is None
    status = reader.result["result"]["statusUpdate"]["status"]
    assert status["state"] == "TASK_STATE_FAILED"
    assert status["message"]["parts"][0]["text"] == "the failing agent failed on purpose"


def test_a_json_rpc_error_event_is_a_stream_error_with_its_message() -> None:
    reader = _read(RAISED)
    assert reader.error == "stream error: the raising agent raised on purpose"
    assert reader.result["error"]["code"] == -32603


def test_a_plain_json_answer_to_a_streamed_request_is_read_as_one_event() -> None:
    """The a2a-sdk refuses a stream up front with an application/json JSON-RPC error."""
    reader = JsonEventsReader(A2A_TOKENS)
    reader.feed(REFUSED, 1.0)
    reader.finish(1.1)
    assert reader.error.startswith("stream error: A2A version '0.3' is not supported")
    assert reader.result["error"]["code"] == -32009


def test_the_first_error_wins_and_later_events_still_become_the_result() -> None:
    second = 'data: {"error": {"message": "second"}}'
    reader = _read([*RAISED, second])
    assert reader.error == "stream error: the raising agent raised on purpose"
    assert reader.result == {"error": {"message": "second"}}


def test_an_empty_stream_is_an_error() -> None:
    reader = JsonEventsReader(A2A_TOKENS)
    reader.feed(": ping - 2026-12-06 10:12:21", 1.0)
    reader.feed("", 1.0)
    reader.finish(2.0)
    assert reader.error == "stream ended without an event"
    assert reader.result is None


def test_a_stream_cut_after_the_artifacts_fails_only_with_a_done_path() -> None:
    """Without done_path the cut stream's result is the last artifact (the checks judge it);
    with done_path the reader calls it cut short, and keeps the tokens it read."""
    cut = ECHO[:-1]
    plain = _read(cut)
    assert plain.error == "" and "artifactUpdate" in plain.result["result"]
    state = "result.statusUpdate.status.state"
    done = _read(
        cut, JsonEventsReader(A2A_TOKENS, done_path=state, done_value="TASK_STATE_COMPLETED")
    )
    assert done.error == (
        "stream ended before an event with result.statusUpdate.status.state = "
        "'TASK_STATE_COMPLETED'"
    )
    assert (done.tokens, done.text) == (3, "echo: hello agent")


def test_done_value_is_compared_as_json_a_true_is_not_a_one() -> None:
    state = "result.statusUpdate.status.state"
    ok = JsonEventsReader(A2A_TOKENS, done_path=state, done_value="TASK_STATE_COMPLETED")
    assert _read(ECHO, ok).error == ""
    one = JsonEventsReader([], done_path="done")
    assert (
        _read(['data: {"done": 1}'], one).error == "stream ended before an event with done = True"
    )
    assert _read(['data: {"done": true}'], JsonEventsReader([], done_path="done")).error == ""


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain", "plain"),
        ({"text": "one part"}, "one part"),
        ([{"text": "a"}, {"data": {"x": 1}}, {"text": "b"}], "ab"),
        ([{"data": {"x": 1}}], ""),
        ("", ""),
        (42, ""),
        (None, ""),
    ],
)
def test_a_token_is_a_string_a_part_or_a_list_of_parts(value: Any, text: str) -> None:
    reader = _read(["data: " + json.dumps({"t": value})], JsonEventsReader(["t"]))
    assert (reader.tokens, reader.text) == ((1, text) if text else (0, ""))


def test_the_first_token_path_with_text_counts_once() -> None:
    event = 'data: {"a": "x", "b": [{"text": "y"}]}'
    reader = _read([event], JsonEventsReader(["missing", "b", "a"]))
    assert (reader.tokens, reader.text) == (1, "y")


def test_a_message_only_stream_is_one_token_and_the_result() -> None:
    """An agent that answers with a Message: one event, its parts the token."""
    message = (
        'data: {"result": {"message": {"messageId": "m", "role": "ROLE_AGENT", "parts": '
        '[{"text": "hi"}]}}, "id": 1, "jsonrpc": "2.0"}'
    )
    reader = _read([message])
    assert (reader.error, reader.tokens, reader.text) == ("", 1, "hi")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("data: not json", "stream event is not JSON"),
        ("data: [1, 2]", "stream event is not an object"),
        ('data: {"error": {"detail": "nope"}}', "stream error: nope"),
        ('data: {"error": "flat"}', "stream error: flat"),
    ],
)
def test_bad_events_are_errors(line: str, reason: str) -> None:
    assert _read([line]).error == reason


def test_a_null_error_is_no_error_and_error_path_empty_disables_it() -> None:
    assert _read(['data: {"error": null, "x": 1}']).error == ""
    off = JsonEventsReader(A2A_TOKENS, error_path="")
    assert _read(['data: {"error": {"message": "ignored"}}'], off).error == ""


def test_a_data_event_split_over_lines_and_crlf_endings() -> None:
    """An event's data on two lines is joined with a newline (JSON whitespace); CRLF is cut."""
    reader = JsonEventsReader(A2A_TOKENS)
    for line in ['data: {"result": {"message": {"parts":\r', 'data: [{"text": "hi"}]}}}\r', "\r"]:
        reader.feed(line, 1.0)
    reader.finish(2.0)
    assert (reader.error, reader.text) == ("", "hi")
