"""LLM-serving metrics of streamed answers: per request, and the summary's ``llm`` section. Pure.

Per streamed request (:func:`stream_metrics`), from the times its content chunks arrived and the
usage the server reported:

- ``ttft_ms``: request start (the open model's intended start) to the first content chunk;
- ``itl_ms``: every gap between two content chunks (inter-token latency, a distribution);
- ``e2e_ms``: request start to the end of the stream;
- ``output_tokens``: the usage's ``completion_tokens`` (or ``output_tokens``) when the server
  reported it (``token_source`` ``usage``), else the number of content chunks (``chunks``);
  ``input_tokens`` from ``prompt_tokens`` (or ``input_tokens``), else unknown;
- ``tpot_ms`` = (E2E − TTFT) / (output tokens − 1), as vLLM's benchmarks define it (needs 2+).

Across requests the recorder keeps, per scenario, the bucket counts of exact histograms
(:mod:`agentload.metrics.latency`: ``{"<kind> <scenario>": {"<bucket index>": n}}``) and token
counts
(``{"tokens <scenario>": {"requests", "output", "input", "input_known", "usage", "chunks"}}``):
plain nested integers that add up exactly across workers. :func:`llm_section` turns them into
summary.json's ``llm[SCENARIO]``: ``{requests, ttft_ms, itl_ms, tpot_ms, e2e_ms`` (each
``{p50, p90, p95, p99, mean}`` with ``p50_ci`` ... ``p99_ci``, 95 % intervals, and ``count``),
``output_tokens, input_tokens, output_tokens_per_s,
total_tokens_per_s, token_source, tokens_base}``, rates over the measurement window.
``tokens_base`` names what the tokens are counted over: ``streamed calls`` (the ``requests``
streamed calls that did not fail; a plain call's usage is not counted), so a scenario that
streams a share of its calls has token rates of that share only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentload.metrics import latency
from agentload.metrics.intervals import quantile_interval_ms
from agentload.metrics.precision import pair

KINDS = ("ttft", "itl", "tpot", "e2e")
TOKENS = "tokens"
#: What the token counts and rates of ``llm[SCENARIO]`` are over (see the module docstring).
TOKENS_BASE = "streamed calls"
_QUANTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}


@dataclass(frozen=True)
class StreamMetrics:
    """One streamed request's LLM metrics (see the module docstring)."""

    ttft_ms: float | None
    e2e_ms: float
    itl_ms: tuple[float, ...]
    output_tokens: int
    input_tokens: int | None
    token_source: str

    @property
    def tpot_ms(self) -> float | None:
        if self.ttft_ms is None or self.output_tokens < 2:
            return None
        return (self.e2e_ms - self.ttft_ms) / (self.output_tokens - 1)

    @property
    def output_tokens_per_s(self) -> float | None:
        return self.output_tokens / (self.e2e_ms / 1000.0) if self.e2e_ms > 0 else None


def stream_metrics(
    started: float,
    ended: float,
    token_times: Sequence[float],
    chunks: int,
    usage: Mapping[str, Any] | None,
) -> StreamMetrics:
    """The metrics of one stream: ``started``/``ended`` and ``token_times`` are
    ``time.perf_counter()`` values, ``chunks`` the content chunks counted, ``usage`` the
    server's (or None)."""
    reported = _tokens(usage, "completion_tokens", "output_tokens")
    gaps = tuple((b - a) * 1000.0 for a, b in zip(token_times, token_times[1:], strict=False))
    return StreamMetrics(
        ttft_ms=(token_times[0] - started) * 1000.0 if token_times else None,
        e2e_ms=(ended - started) * 1000.0,
        itl_ms=gaps,
        output_tokens=reported if reported is not None else chunks,
        input_tokens=_tokens(usage, "prompt_tokens", "input_tokens"),
        token_source="usage" if reported is not None else "chunks",
    )


def _tokens(usage: Mapping[str, Any] | None, *keys: str) -> int | None:
    for key in keys:
        value = (usage or {}).get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def bucket_counts(metrics: StreamMetrics) -> dict[str, list[int]]:
    """Per kind, the histogram bucket index of each value this request adds."""
    values = {
        "ttft": [metrics.ttft_ms] if metrics.ttft_ms is not None else [],
        "itl": list(metrics.itl_ms),
        "tpot": [metrics.tpot_ms] if metrics.tpot_ms is not None else [],
        "e2e": [metrics.e2e_ms],
    }
    return {kind: [latency.bucket_index(latency.to_us(ms)) for ms in ms_list]
            for kind, ms_list in values.items()}  # fmt: skip


def token_counts(metrics: StreamMetrics) -> dict[str, int]:
    """What this request adds to its scenario's ``tokens`` group."""
    counts = {"requests": 1, "output": metrics.output_tokens, metrics.token_source: 1}
    if metrics.input_tokens is not None:
        counts |= {"input": metrics.input_tokens, "input_known": 1}
    return counts


def llm_section(
    counts: Mapping[str, Mapping[str, int]], seconds: float | None
) -> dict[str, dict[str, Any]]:
    """summary.json's ``llm``: per scenario with streamed requests (see the module docstring)."""
    scenarios = sorted(group.split(" ", 1)[1] for group in counts if group.startswith(f"{TOKENS} "))
    out: dict[str, dict[str, Any]] = {}
    for scenario in scenarios:
        tokens = counts.get(f"{TOKENS} {scenario}") or {}
        section: dict[str, Any] = {"requests": int(tokens.get("requests", 0))}
        for kind in KINDS:
            section[f"{kind}_ms"] = distribution(counts.get(f"{kind} {scenario}") or {})
        output, input_known = int(tokens.get("output", 0)), int(tokens.get("input_known", 0))
        inputs = int(tokens.get("input", 0)) if input_known else None
        section["output_tokens"], section["input_tokens"] = output, inputs
        per_s = seconds if seconds and seconds > 0 else None
        section["output_tokens_per_s"] = round(output / per_s, 3) if per_s else None
        total = output + (inputs or 0)
        section["total_tokens_per_s"] = round(total / per_s, 3) if per_s else None
        section["token_source"] = _source(tokens)
        section["tokens_base"] = TOKENS_BASE
        out[scenario] = section
    return out


def tokens_findings(llm: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The console's lines on ``summary["llm"]``, one per scenario, naming the rates' base:
    ``chat: 98.6 output tokens/s, 150.2 total tokens/s, counted over its 120 streamed calls
    (tokens from usage)``."""
    lines = []
    for scenario, section in sorted(llm.items()):
        out, total = section.get("output_tokens_per_s"), section.get("total_tokens_per_s")
        rates = ", ".join(
            f"{value:.1f} {what} tokens/s"
            for what, value in (("output", out), ("total", total))
            if isinstance(value, int | float)
        )
        calls = _calls_of(int(section.get("requests") or 0), section.get("tokens_base"))
        lines.append(
            f"{scenario}: {rates or 'no token rate'}, counted over its {calls} "
            f"(tokens from {section.get('token_source')})"
        )
    return lines


def _calls_of(n: int, base: str | None) -> str:
    """``120 streamed calls``, ``1 streamed call``: ``n`` calls of a token base."""
    base = base or TOKENS_BASE
    return f"{n} {base.removesuffix('s') if n == 1 else base}"


def _source(tokens: Mapping[str, int]) -> str | None:
    usage, chunks = int(tokens.get("usage", 0)), int(tokens.get("chunks", 0))
    if usage and chunks:
        return "mixed"
    return "usage" if usage else ("chunks" if chunks else None)


def histogram(buckets: Mapping[str, int]) -> latency.Histogram:
    """An exact histogram from ``{"<bucket index>": n}``."""
    hist = latency.new()
    for index, n in buckets.items():
        if int(n) > 0:
            hist.record_value(hist.get_value_from_index(int(index)), int(n))
    return hist


def distribution(buckets: Mapping[str, int]) -> dict[str, Any]:
    """``{p50, p90, p95, p99, mean}`` in ms of a bucket-count histogram (None when empty), each
    percentile's 95 % interval beside it (``p95_ci``: ``[lo, hi]``) and the ``count`` of values."""
    hist = histogram(buckets)
    values = latency.percentiles_ms(hist, list(_QUANTILES.values()))
    out: dict[str, Any] = {
        key: round(v, 3) if v is not None else None
        for key, v in zip(_QUANTILES, values, strict=True)
    }
    mean = latency.mean_ms(hist)
    out["mean"] = round(mean, 3) if mean is not None else None
    for key, q in _QUANTILES.items():
        out[f"{key}_ci"] = pair(quantile_interval_ms(hist, q))
    out["count"] = latency.count(hist)
    return out
