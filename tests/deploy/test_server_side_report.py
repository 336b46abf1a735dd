"""The report's server-side section shows each server quantile's bucket and the verdict."""

from __future__ import annotations

from pathlib import Path

from agentload.prometheus.compare import compare
from agentload.report.rundata import RunData
from agentload.report.server_side import server_side

CODEGEN = "/v1/agents/codegen"


def section_for(comparison: list[dict[str, object]]) -> str:
    summary = {"server_side": {"source": "http://prom", "routes": {}, "comparison": comparison}}
    return server_side(RunData(Path("run"), summary))


def test_section_shows_bounds_and_each_verdict_with_its_row_class() -> None:
    """Agreement, artefact, client below and client above each appear, with the bucket in ms."""
    server = {CODEGEN: {"p95_ms": 828.35, "p95_lo_ms": 759.0, "p95_hi_ms": 832.0}}
    bounds = {CODEGEN: [0.759, 0.832]}
    rows = [
        compare({f"POST {CODEGEN}": {"p95_ms": c}}, server, bounds, quantiles=("p95",))[0]
        for c in (830.0, 814.6, 700.0, 2832.0)
    ]
    html = section_for(rows)
    assert html.count("(759, 832] ms") == 8  # the bucket column and each verdict's sentence
    assert "server above client: interpolation artefact, both in bucket (759, 832] ms" in html
    assert "client inside the server&#x27;s bucket (759, 832] ms" in html
    assert "faster than the server, a real discrepancy" in html
    assert "client 2,000 ms above the server&#x27;s bucket (759, 832] ms" in html
    for cls in ("ok", "warn", "bad"):
        assert f'<tr class="{cls}">' in html
    assert "estimates interpolated inside one histogram bucket" in html


def test_section_reads_summaries_written_before_the_bounds() -> None:
    """An older summary's rows (``server_bucket_ms``, no verdict) still render their bucket."""
    old = {
        "entry": f"POST {CODEGEN}",
        "quantile": "p95",
        "client_ms": 810.0,
        "server_ms": 986.0,
        "server_bucket_ms": [750.0, 1000.0],
        "within_one_bucket": True,
    }
    html = section_for([old])
    assert "(750, 1,000] ms" in html and "<td>–</td>" in html
