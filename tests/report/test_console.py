"""The live console view, fed by a real run's timeline.jsonl written line by line."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from agentload.run.console import LiveConsole, snapshot


def _lines(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "timeline.jsonl").read_text().splitlines() if x.strip()]


def test_snapshot_reads_users_rps_errors_and_success_from_the_last_lines(clean_run: Path) -> None:
    """RPS is over the last 10 s of HTTP requests; totals and agent success are cumulative."""
    lines = _lines(clean_run)
    snap = snapshot(lines, "smoke", 15.0, elapsed_s=0.0)
    last = lines[-1]
    http = {k: v for k, v in last["entries"].items() if k.split()[0] in ("GET", "POST")}
    assert snap.requests == sum(v["requests"] for v in http.values())
    assert snap.failures == sum(v["failures"] for v in http.values())
    assert snap.users == last["users"]
    assert snap.rps > 0 and snap.p95_ms is not None and snap.p95_ms > 0
    assert snap.agent_success is not None and 0.0 <= snap.agent_success <= 1.0
    assert snap.remaining_s == max(15.0 - snap.elapsed_s, 0.0)


def test_plain_view_prints_lines_while_the_timeline_grows(clean_run: Path, tmp_path: Path) -> None:
    """Not a terminal: plain lines with the phase, and a last line with the final figures."""
    timeline = tmp_path / "timeline.jsonl"
    out = io.StringIO()
    console = Console(file=out, width=200)
    lines = (clean_run / "timeline.jsonl").read_text().splitlines(keepends=True)
    with LiveConsole(timeline, "smoke", 15.0, console=console, plain_every_s=0.01) as live:
        for raw in lines:
            with timeline.open("a") as fh:
                fh.write(raw[: len(raw) // 2])
                fh.flush()
                fh.write(raw[len(raw) // 2 :])
        final = live.current()
    printed = out.getvalue().splitlines()
    assert printed and all(p.startswith("[smoke] ") for p in printed)
    assert printed[-1] == final.line()
    assert f"users={_lines(clean_run)[-1]['users']}" in printed[-1]
    assert "agent_success=" in printed[-1] and "Traceback" not in out.getvalue()


def test_rich_view_draws_a_table(clean_run: Path) -> None:
    """On a terminal the view is a rich table with the figures."""
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=True)
    with LiveConsole(clean_run / "timeline.jsonl", "smoke", 15.0, console=console, plain=False):
        pass
    text = out.getvalue()
    for label in ("agentload · smoke", "users", "requests / s", "P95", "errors", "agent success"):
        assert label in text
