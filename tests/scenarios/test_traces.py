"""Traces to replay, read and scheduled without a server: the three formats told apart by
content, a bad file named with its line, sessions kept whole on one process, prompts of the
rows' lengths by the embedded engine's count (words)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from agentload.apis.lengths import Synthetic
from agentload.scenarios.replay import (
    BLOCK_TOKENS,
    Prompts,
    ReplayPlan,
    assign_scenarios,
    pool_size,
    resolve_replay,
    row_values,
    schedule,
    share,
)
from agentload.scenarios.synthetic import load_synthetic
from agentload.scenarios.traces import TraceError, load_trace
from agentload.stock.lookup import PACKAGE_DATA

MOONCAKE = [
    {"timestamp": 3052, "input_length": 10, "output_length": 3, "session_id": "a"},
    {"timestamp": 0, "input_length": 655, "output_length": 52, "hash_ids": [46, 47]},
    {"timestamp": 0, "input_length": 1100, "output_length": 9, "hash_ids": [46, 47, 48]},
    {"timestamp": 1052, "input_length": 11, "output_length": 4, "session_id": "a", "topic": "x"},
]
AZURE = (
    "TIMESTAMP,ContextTokens,GeneratedTokens\n"
    "2023-11-16 18:15:46.6805900,4808,10\n"
    "2023-11-16 18:15:50.1805900,3180,8\n"
)


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="module")
def words() -> Prompts:
    spec = Synthetic.model_validate(
        {"prompt_tokens": 1, "output_tokens": 1, "tokenizer": "words", "samples": 1}
    )
    return Prompts(load_synthetic(spec, PACKAGE_DATA).rule, seed=42)


def test_a_mooncake_trace_is_sorted_by_time_offsets_from_the_first_row(tmp_path):
    """Mooncake JSONL: rows sorted by timestamp (ms -> s, ties in file order), its lengths,
    hash ids, session and extra keys as template values."""
    trace = load_trace(_jsonl(tmp_path / "m.jsonl", MOONCAKE))
    assert trace.format == "mooncake" and len(trace.rows) == 4 and trace.sessions == 1
    assert [r.offset_s for r in trace.rows] == [0.0, 0.0, 1.052, 3.052]
    assert [r.line for r in trace.rows] == [2, 3, 4, 1]
    assert trace.rows[0].hash_ids == (46, 47) and trace.rows[2].values == {"topic": "x"}
    assert trace.span_s == 3.052


def test_an_azure_csv_reads_its_datetimes_to_seven_digits(tmp_path):
    """Azure's TIMESTAMP (7 fractional digits) becomes offsets in seconds."""
    path = tmp_path / "AzureLLMInferenceTrace_conv.csv"
    path.write_text(AZURE)
    trace = load_trace(path)
    assert trace.format == "azure"
    assert [(r.offset_s, r.input_tokens, r.output_tokens) for r in trace.rows] == [
        (0.0, 4808, 10),
        (3.5, 3180, 8),
    ]


def test_a_past_runs_requests_file_replays_its_calls_only(tmp_path):
    """requests.jsonl.gz: a row per ``call`` line at its intended start, its scenario and
    recorded tokens (none when not recorded); polls are the call's, not rows."""
    lines = [
        {"scenario": "chat", "part": "call", "entry": "POST /x", "intended_start": 100.5,
         "start": 100.6, "input_tokens": 12, "output_tokens": 3},
        {"scenario": "job", "part": "poll", "entry": "GET /y", "intended_start": 100.7,
         "start": 100.7, "input_tokens": None, "output_tokens": None},
        {"scenario": "job", "part": "call", "entry": "POST /y", "intended_start": 101.0,
         "start": 101.0, "input_tokens": None, "output_tokens": None},
    ]  # fmt: skip
    path = tmp_path / "requests.jsonl.gz"
    with gzip.open(path, "wt") as out:
        out.writelines(json.dumps(line) + "\n" for line in lines)
    trace = load_trace(path)
    assert trace.format == "agentload"
    assert [(r.offset_s, r.scenario, r.input_tokens) for r in trace.rows] == [
        (0.0, "chat", 12),
        (0.5, "job", None),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello world\n", "line 1: header 'hello world' has no TIMESTAMP, expected Mooncake"),
        ('{"timestamp": 0, "input_length": 5, "output_length": 1}\n'
         '{"timestamp": 9, "input_length": -1, "output_length": 1}\n',
         'line 2: field "input_length": got -1, expected a whole number of tokens >= 0'),
        ('{"timestamp": 0, "input_length": 5}\n', 'line 1: no output_length in it'),
        (AZURE + "yesterday,1,2\n", 'line 4: field "TIMESTAMP": got \'yesterday\''),
        ("", "empty, expected Mooncake JSON Lines"),
    ],
)  # fmt: skip
def test_a_bad_trace_is_one_line_naming_the_file_line_and_form(tmp_path, text, expected):
    path = tmp_path / "bad.trace"
    path.write_text(text)
    with pytest.raises(TraceError) as err:
        load_trace(path)
    assert str(err.value).startswith(str(path)) and expected in str(err.value)
    assert "\n" not in str(err.value)


def test_a_sessions_rows_are_one_item_and_speed_and_bound_shape_the_schedule(tmp_path):
    """Rows of one session make one item (in time order); ``speed`` divides the times; rows
    past ``max_duration_s`` are left out."""
    trace = load_trace(_jsonl(tmp_path / "m.jsonl", MOONCAKE))
    items = schedule(trace, speed=2.0, max_duration_s=3600)
    assert [(i.at_s, i.rows) for i in items] == [(0.0, (0,)), (0.0, (1,)), (0.526, (2, 3))]
    assert [i.rows for i in schedule(trace, speed=1.0, max_duration_s=2.0)] == [(0,), (1,), (2,)]


def test_sharing_out_items_sends_every_row_once_and_keeps_a_session_on_one_process(tmp_path):
    rows = [{"timestamp": i * 10, "input_length": 1, "output_length": 1,
             **({"session_id": f"s{i % 5}"} if i % 2 else {})} for i in range(101)]  # fmt: skip
    trace = load_trace(_jsonl(tmp_path / "m.jsonl", rows))
    items = schedule(trace, 1.0, 3600)
    shares = [share(items, index, 3) for index in range(3)]
    sent = sorted(row for part in shares for item in part for row in item.rows)
    assert sent == list(range(101))
    for session in {r.session for r in trace.rows if r.session}:
        holders = {
            n
            for n, part in enumerate(shares)
            for item in part
            if any(trace.rows[i].session == session for i in item.rows)
        }
        assert len(holders) == 1


def test_the_pool_covers_the_busiest_moment_and_open_sessions(tmp_path):
    """0 users: the most rows due within expected_latency_s x 4, plus the sessions open at
    once; a given number is kept, bounded by max_users."""
    rows = [{"timestamp": 0, "input_length": 1, "output_length": 1} for _ in range(10)]
    trace = load_trace(_jsonl(tmp_path / "m.jsonl", rows + MOONCAKE))
    items = schedule(trace, 1.0, 3600)
    assert pool_size(trace, items, ReplayPlan(trace.path)) == 12 * 4 + 1
    assert pool_size(trace, items, ReplayPlan(trace.path, users=7)) == 7
    assert pool_size(trace, items, ReplayPlan(trace.path, max_users=20)) == 20


def test_prompts_have_the_rows_lengths_in_words_and_shared_hash_ids_share_text(tmp_path, words):
    """A row's prompt is ``input_length`` words (the engine's count); rows whose hash ids
    share a prefix share that many blocks of text; max_tokens is the output length."""
    trace = load_trace(_jsonl(tmp_path / "m.jsonl", MOONCAKE))
    first, second = trace.rows[0], trace.rows[1]
    texts = [words.text(row) for row in trace.rows]
    assert [len(t.split()) for t in texts] == [r.input_tokens for r in trace.rows]
    assert first.hash_ids == second.hash_ids[:2] and BLOCK_TOKENS < first.input_tokens
    assert texts[1].split()[: first.input_tokens] == texts[0].split()  # blocks 46, 47 (in part)
    assert texts[2].split()[:5] != texts[0].split()[:5]  # no hash ids: text of its own
    values = row_values(second, words)
    assert values["max_tokens"] == values["output_tokens"] == 9 and values["prompt_tokens"] == 1100
    assert row_values(trace.rows[2], words)["topic"] == "x"


def test_scenarios_follow_the_row_else_the_session_else_seeded_weights(tmp_path):
    rows = [*MOONCAKE, {"timestamp": 5, "input_length": 1, "output_length": 1, "scenario": "b"}]
    trace = load_trace(_jsonl(tmp_path / "m.jsonl", rows))
    drawn = assign_scenarios(trace, {"a": 1.0, "b": 1.0, "off": 0.0}, seed=7)
    assert drawn == assign_scenarios(trace, {"a": 1.0, "b": 1.0, "off": 0.0}, seed=7)
    assert "off" not in drawn and drawn[2] == "b" and drawn[3] == drawn[4]  # session a


def test_the_shape_json_is_checked_naming_the_key():
    plan = resolve_replay('{"trace": "/t.jsonl", "speed": 2, "processes": 3}')
    assert (plan.speed, plan.processes, plan.max_lag_s) == (2.0, 3, 5.0)
    with pytest.raises(Exception, match="speed 0, expected a number > 0"):
        resolve_replay('{"trace": "/t.jsonl", "speed": 0}')
