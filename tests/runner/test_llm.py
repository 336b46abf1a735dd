"""LLM stream metrics (pure): per request, and the summary's llm section."""

from __future__ import annotations

import pytest

from agentload.metrics.llm import (
    bucket_counts,
    llm_section,
    stream_metrics,
    token_counts,
    tokens_findings,
)


def _counts(*streams):
    """The nested counts a recorder keeps for scenario 'chat' after these streams."""
    counts: dict[str, dict[str, int]] = {}
    for metrics in streams:
        for kind, indexes in bucket_counts(metrics).items():
            group = counts.setdefault(f"{kind} chat", {})
            for index in indexes:
                group[str(index)] = group.get(str(index), 0) + 1
        tokens = counts.setdefault("tokens chat", {})
        for name, n in token_counts(metrics).items():
            tokens[name] = tokens.get(name, 0) + n
    return counts


def test_ttft_itl_e2e_and_tpot_follow_the_chunk_times_and_the_usage():
    chunks = [10.2, 10.25, 10.31, 10.40]  # seconds (perf_counter)
    usage = {"prompt_tokens": 12, "completion_tokens": 7}
    m = stream_metrics(10.0, 10.5, chunks, len(chunks), usage)
    assert m.ttft_ms == pytest.approx(200.0)
    assert m.itl_ms == pytest.approx((50.0, 60.0, 90.0))
    assert m.e2e_ms == pytest.approx(500.0)
    assert (m.output_tokens, m.input_tokens, m.token_source) == (7, 12, "usage")
    assert m.tpot_ms == pytest.approx((500.0 - 200.0) / 6)
    assert m.output_tokens_per_s == pytest.approx(14.0)


def test_without_usage_the_chunks_are_the_tokens_and_the_input_is_unknown():
    m = stream_metrics(0.0, 1.0, [0.5, 0.75, 1.0], 3, None)
    assert (m.output_tokens, m.input_tokens, m.token_source) == (3, None, "chunks")
    assert m.tpot_ms == pytest.approx(250.0)
    one = stream_metrics(0.0, 1.0, [0.5], 1, {"completion_tokens": 1})
    assert one.tpot_ms is None and one.itl_ms == ()


@pytest.mark.parametrize("usage", [{"completion_tokens": -1}, {"completion_tokens": "7"},
                                   {"completion_tokens": True}, {}])  # fmt: skip
def test_a_usage_without_a_sane_count_falls_back_to_the_chunks(usage):
    assert stream_metrics(0.0, 1.0, [0.5, 0.6], 2, usage).token_source == "chunks"


def test_the_section_gives_exact_distributions_and_tokens_per_second_over_the_window():
    streams = [
        stream_metrics(0.0, 0.4 + i / 1000, [0.2 + i / 1000, 0.21 + i / 1000], 2,
                       {"prompt_tokens": 10, "completion_tokens": 20})
        for i in range(100)
    ]  # fmt: skip
    section = llm_section(_counts(*streams), seconds=10.0)["chat"]
    assert section["requests"] == 100
    assert section["ttft_ms"]["p50"] == pytest.approx(249.0, rel=1e-3)  # 200 + 49 (rank 50)
    assert section["ttft_ms"]["p99"] == pytest.approx(298.0, rel=1e-3)
    assert section["itl_ms"]["p50"] == pytest.approx(10.0, rel=1e-3)
    assert section["e2e_ms"]["mean"] == pytest.approx(449.5, rel=1e-3)
    assert section["tpot_ms"]["p50"] == pytest.approx(200.0 / 19, rel=1e-3)
    assert (section["output_tokens"], section["input_tokens"]) == (2000, 1000)
    assert section["output_tokens_per_s"] == 200.0 and section["total_tokens_per_s"] == 300.0
    assert section["token_source"] == "usage" and section["tokens_base"] == "streamed calls"


def test_the_console_line_names_the_token_rates_base():
    """The rates are said to be counted over the scenario's streamed calls, not all calls."""
    stream = stream_metrics(
        0.0, 0.4, [0.2, 0.21], 2, {"prompt_tokens": 10, "completion_tokens": 20}
    )
    (line,) = tokens_findings(llm_section(_counts(stream, stream), seconds=4.0))
    assert line == (
        "chat: 10.0 output tokens/s, 15.0 total tokens/s, counted over its 2 streamed calls "
        "(tokens from usage)"
    )
    (one,) = tokens_findings(llm_section(_counts(stream), seconds=4.0))
    assert one.endswith("counted over its 1 streamed call (tokens from usage)")


def test_token_source_says_mixed_when_some_streams_had_no_usage():
    a = stream_metrics(0.0, 1.0, [0.5, 0.6], 2, {"completion_tokens": 5})
    b = stream_metrics(0.0, 1.0, [0.5, 0.6], 2, None)
    section = llm_section(_counts(a, b), seconds=None)["chat"]
    assert section["token_source"] == "mixed" and section["input_tokens"] is None
    assert section["output_tokens"] == 7 and section["output_tokens_per_s"] is None
