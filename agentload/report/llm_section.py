"""The report's LLM section: per streamed scenario, TTFT, inter-token latency, TPOT and E2E
percentiles, tokens and their source, and goodput under the run's SLOs."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from agentload.report.html import Raw, fmt_ms, fmt_num, fmt_pct, section, table
from agentload.report.precision_cells import with_ci
from agentload.report.rundata import RunData

_KINDS = (("ttft_ms", "TTFT"), ("itl_ms", "ITL"), ("tpot_ms", "TPOT"), ("e2e_ms", "E2E"))


def llm(run: RunData) -> str:
    """The section, or nothing for a run without streams nor SLOs."""
    streams: Mapping[str, Any] = run.summary.get("llm") or {}
    goodput: Mapping[str, Any] = run.summary.get("goodput") or {}
    if not streams and not goodput:
        return ""
    body = ""
    for scenario, figures in sorted(streams.items()):
        rows = [
            [label, *(_ms(figures.get(key) or {}, q) for q in ("p50", "p90", "p95", "p99")),
             fmt_ms((figures.get(key) or {}).get("mean"))]
            for key, label in _KINDS
        ]  # fmt: skip
        out_rate = fmt_num(figures.get("output_tokens_per_s"))
        base = escape(str(figures.get("tokens_base") or "streamed calls"))
        tokens = (
            f"tokens of {fmt_num(figures.get('requests'))} {base}: output "
            f"{fmt_num(figures.get('output_tokens'))} ({out_rate}/s), input "
            f"{fmt_num(figures.get('input_tokens'))}, total "
            f"{fmt_num(figures.get('total_tokens_per_s'))}/s; from "
            f"{escape(str(figures.get('token_source')))}"
        )
        body += f"<h3>{escape(scenario)}</h3><p class=note>{tokens}.</p>"
        body += table(["", "P50", "P90", "P95", "P99", "mean"], rows)
    if goodput:
        rows = [
            [
                escape(name),
                escape(", ".join(f"{k.removesuffix('_ms')} ≤ {fmt_ms(v)}"
                                 for k, v in (g.get("slo") or {}).items())),
                fmt_num(g.get("requests")),
                fmt_num(g.get("met")),
                fmt_pct(g.get("share")),
                fmt_num(g.get("per_s")),
            ]
            for name, g in sorted(goodput.items())
        ]  # fmt: skip
        body += "<h3>Goodput</h3>" + table(
            ["scenario", "SLOs", "calls", "met all", "share", "per s"], rows
        )
    note = (
        "<p class=note>Streamed calls that did not fail; TPOT = (E2E − TTFT) / (output tokens − "
        "1); token rates of those calls only (a plain call's tokens are not counted), over the "
        "measurement window. Goodput: calls that succeeded and met every SLO.</p>"
    )
    return section("LLM serving: tokens, latency per token, goodput", note + body, "llm")


def _ms(dist: Mapping[str, Any], q: str) -> Raw:
    """A percentile of a stream's distribution with its 95 % interval (``p95_ci``)."""
    return with_ci(fmt_ms(dist.get(q)), "ms", dist.get(f"{q}_ci"))
