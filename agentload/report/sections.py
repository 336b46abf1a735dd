"""The report's tables, from ``summary.json`` (and ``final.json`` for agent outcomes)."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from html import escape
from typing import Any

from agentload.report.html import fmt_ms, fmt_num, fmt_pct, section, table
from agentload.report.rundata import RunData
from agentload.report.series import is_http

_VERDICT_TEXT = {"pass": "PASS", "fail": "FAIL", "aborted": "ABORTED"}


def banner(run: RunData) -> str:
    """The verdict banner: phase, verdict, target, when and how long."""
    s = run.summary
    verdict = str(s.get("verdict", "unknown"))
    detail = f"exit code {s.get('exit_code', '?')}"
    if s.get("abort_reason"):
        detail += f" — aborted: {s['abort_reason']}"
    gates = [g for g in s.get("gates") or [] if isinstance(g, dict)]
    failed = [str(g.get("name") or g.get("expr")) for g in gates if not g.get("passed")]
    if failed:
        detail += " — failed gates: " + ", ".join(failed)
    compared = run.comparison
    if compared:
        regressed = bool(compared.get("regressed"))
        detail += " — baseline comparison: " + ("REGRESSION" if regressed else "no regression")
    return (
        f'<header class="banner {escape(verdict)}">'
        f"<div class=verdict>{escape(_VERDICT_TEXT.get(verdict, verdict.upper()))}</div>"
        f"<div><h1>agentload · {escape(run.phase)}</h1>"
        f"<p>{escape(str(s.get('target', '?')))} · started {escape(str(s.get('started_at', '?')))}"
        f" · {fmt_num(s.get('duration_s'))} s · {fmt_num(s.get('users'))} users</p>"
        f"<p>{escape(detail)}</p></div></header>"
    )


def gates(run: RunData) -> str:
    """The gates table, failed gates highlighted."""
    rows, classes = [], []
    for g in run.summary.get("gates") or []:
        if not isinstance(g, dict):
            continue
        passed = bool(g.get("passed"))
        rows.append(
            [
                g.get("name", ""),
                g.get("expr", ""),
                fmt_num(g.get("observed"), 3),
                "pass" if passed else "FAIL",
            ]
        )
        classes.append("ok" if passed else "bad")
    if not rows:
        return section("Gates", "<p>No gates were set for this run.</p>", "gates")
    return section(
        "Gates",
        table(["gate", "expression", "observed", "result"], rows, row_classes=classes),
        "gates",
    )


def _kpi(label: str, value: str) -> str:
    return (
        f"<div class=kpi><div class=v>{escape(value)}</div><div class=l>{escape(label)}</div></div>"
    )


def kpis(run: RunData) -> str:
    """Headline numbers, then per-entry latencies (HTTP entries, then TTFT/TPOT/TTC)."""
    totals: Mapping[str, Any] = run.summary.get("totals") or {}
    cards = [
        _kpi("requests", fmt_num(totals.get("requests"))),
        _kpi("requests / s", fmt_num(totals.get("rps"))),
        _kpi("error rate", fmt_pct(totals.get("error_rate"))),
        _kpi("agent success", fmt_pct(totals.get("agent_success_rate"))),
    ]
    endpoints: Mapping[str, Any] = run.summary.get("endpoints") or {}
    for name in ("TTFT codegen", "TPOT codegen", "TTC research"):
        if isinstance(endpoints.get(name), dict):
            cards.append(_kpi(f"P95 {name}", fmt_ms(endpoints[name].get("p95_ms"))))
    names = sorted(endpoints, key=lambda n: (not is_http(n), n))
    rows = []
    for name in names:
        e = endpoints[name]
        if not isinstance(e, dict):
            continue
        rows.append(
            [
                name,
                fmt_num(e.get("requests")),
                fmt_num(e.get("failures")),
                fmt_num(e.get("rps")),
                fmt_ms(e.get("p50_ms")),
                fmt_ms(e.get("p95_ms")),
                fmt_ms(e.get("p99_ms")),
                fmt_ms(e.get("max_ms")),
            ]
        )
    body = f"<div class=kpis>{''.join(cards)}</div>"
    if rows:
        body += table(["entry", "requests", "failures", "RPS", "P50", "P95", "P99", "max"], rows)
    body += _outcomes(run)
    return section("Key figures", body, "kpis")


def _outcomes(run: RunData) -> str:
    outcomes = run.summary.get("agent_outcomes") or run.final.get("outcomes")
    if not outcomes and run.timeline:
        outcomes = run.timeline[-1].get("outcomes")
    if not isinstance(outcomes, dict) or not outcomes:
        return ""
    kinds = ["success", "invalid", "error", "timeout", "rejected"]
    rows = []
    for scenario in sorted(outcomes):
        raw = outcomes[scenario] or {}
        counts = {k: int(raw.get(k, 0)) for k in kinds if isinstance(raw.get(k, 0), int)}
        total = sum(counts.values())
        rate = counts.get("success", 0) / total if total else None
        rows.append(
            [scenario, fmt_num(total)]
            + [fmt_num(counts.get(k, 0)) for k in kinds]
            + [fmt_pct(rate)]
        )
    return "<h3>Agent outcomes</h3>" + table(["scenario", "tasks", *kinds, "success rate"], rows)


def stress(run: RunData) -> str:
    """The stress steps table with the knee, stop reason and what saturated first."""
    info: Mapping[str, Any] = run.summary.get("stress") or {}
    knee: Mapping[str, Any] = info.get("knee") or {}
    lines = []
    if knee:
        lines.append(
            f"<p><b>Knee</b>: {fmt_num(knee.get('users'))} users, "
            f"{fmt_num(knee.get('rps'))} requests/s, P95 {fmt_ms(knee.get('p95_ms'))}.</p>"
        )
    for key, label in (("stop_reason", "Stopped because"), ("saturated", "Saturated first")):
        if info.get(key):
            lines.append(f"<p><b>{label}</b>: {escape(str(info[key]))}</p>")
    rows = [
        [
            fmt_num(s.get("users")),
            fmt_num(s.get("rps")),
            fmt_ms(s.get("p95_ms")),
            fmt_pct(s.get("error_rate")),
        ]
        for s in run.stress_steps
    ]
    if rows:
        lines.append(table(["users", "RPS", "P95", "error rate"], rows))
    return "".join(lines)


def load(run: RunData) -> str:
    """The load phase's steps and the point where P95 starts to degrade."""
    info: Mapping[str, Any] = run.summary.get("load") or {}
    point: Mapping[str, Any] = info.get("degradation") or {}
    text = (
        f"<p><b>P95 starts to degrade</b> at {fmt_num(point.get('users'))} users, "
        f"{fmt_num(point.get('rps'))} requests/s (P95 {fmt_ms(point.get('p95_ms'))}).</p>"
        if point
        else "<p>P95 did not degrade within the load applied.</p>"
    )
    rows = [
        [
            fmt_num(s.get("users")),
            fmt_num(s.get("rps")),
            fmt_ms(s.get("p95_ms")),
            fmt_pct(s.get("error_rate")),
        ]
        for s in info.get("steps") or []
        if isinstance(s, dict)
    ]
    return text + (table(["users", "RPS", "P95", "error rate"], rows) if rows else "")


def profile(run: RunData) -> str:
    """The flame graph inline and the top-5 functions."""
    info: Mapping[str, Any] = run.summary.get("profile") or {}
    parts = []
    top = [f for f in info.get("top_functions") or [] if isinstance(f, dict)][:5]
    if top:
        rows = [
            [
                f.get("function", ""),
                f"{f.get('file', '')}:{f.get('line', '')}",
                f"{fmt_num(f.get('self_pct'))} %",
                f"{fmt_num(f.get('total_pct'))} %",
            ]
            for f in top
        ]
        parts.append("<h3>Top functions</h3>" + table(["function", "where", "self", "total"], rows))
    if run.flamegraph_svg:
        parts.append("<h3>Flame graph</h3>" + _flame(run.flamegraph_svg))
    if info.get("speedscope"):
        parts.append(
            f"<p>Open <code>{escape(str(info['speedscope']))}</code> in "
            "https://www.speedscope.app for an interactive view.</p>"
        )
    return "".join(parts)


def _flame(svg: str) -> str:
    """The flame graph as its own document in an iframe (a data: URL), so its script (zoom,
    search) and its fixed layout work as when the file is opened alone."""
    if "<svg" not in svg:
        return ""
    found = re.search(r'<svg[^>]*?\sheight="(\d+)', svg)
    height = int(found.group(1)) + 6 if found else 800
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (
        f'<iframe class=flame title="flame graph" style="height:{height}px" '
        f'src="data:image/svg+xml;base64,{data}"></iframe>'
    )


def server_side(run: RunData) -> str:
    """Server-side (Prometheus) figures next to the client-side ones, when present."""
    data = run.summary.get("server_side")
    if not isinstance(data, dict) or not data:
        return ""
    if data.get("missing"):
        body = f"<p>No server-side view for this run: {escape(str(data['missing']))}.</p>"
        return section("Server side vs client side", body, "server-side")
    totals: Mapping[str, Any] = run.summary.get("totals") or {}
    overview = [
        ["requests (/v1/*)", fmt_num(totals.get("requests")), fmt_num(data.get("requests"))],
        ["requests / s", fmt_num(totals.get("rps")), fmt_num(data.get("rps"))],
        [
            "agent success",
            fmt_pct(totals.get("agent_success_rate")),
            fmt_pct(data.get("agent_success_rate")),
        ],
    ]
    body = table(["figure", "client side (Locust)", "server side (Prometheus)"], overview)
    rows, classes = [], []
    for row in data.get("comparison") or []:
        bucket = row.get("server_bucket_ms") or [None, None]
        upper = "+Inf" if bucket[1] is None else fmt_num(bucket[1], 0)
        rows.append(
            [
                row.get("entry", ""),
                row.get("quantile", ""),
                fmt_ms(row.get("client_ms")),
                fmt_ms(row.get("server_ms")),
                f"({fmt_num(bucket[0], 0)}, {upper}] ms",
                "yes" if row.get("within_one_bucket") else "no",
            ]
        )
        classes.append("" if row.get("within_one_bucket") else "bad")
    if rows:
        body += "<h3>Latency per route</h3>" + table(
            ["entry", "quantile", "client", "server", "server bucket", "within one bucket"],
            rows,
            row_classes=classes,
        )
    procs: Mapping[str, Any] = data.get("processes") or {}
    if procs:
        body += "<h3>Target processes</h3>" + table(
            ["job", "CPU %", "max RSS", "last RSS"],
            [
                [
                    job,
                    fmt_num(p.get("cpu_pct")),
                    _mb(p.get("rss_bytes_max")),
                    _mb(p.get("rss_bytes_last")),
                ]
                for job, p in sorted(procs.items())
            ],
        )
    engine: Mapping[str, Any] = data.get("engine") or {}
    if engine:
        body += "<h3>Engine</h3>" + table(
            ["figure", "value"], [[k, _fmt_any(v)] for k, v in engine.items()]
        )
    alerts = data.get("alerts_fired") or []
    if alerts:
        body += "<h3>Alerts fired</h3>" + table(
            ["alert", "details"],
            [
                [
                    a.get("alertname", "?"),
                    _fmt_any({k: v for k, v in a.items() if k != "alertname"}),
                ]
                for a in alerts
                if isinstance(a, dict)
            ],
        )
    return section("Server side vs client side", body, "server-side")


def _mb(value: Any) -> str:
    return f"{value / 1048576:,.0f} MB" if isinstance(value, int | float) and value else "–"


def _fmt_any(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt_any(v)}" for k, v in value.items())
    return fmt_num(value, 2) if isinstance(value, int | float) else str(value)


def metadata(run: RunData) -> str:
    """Target, options, versions and git commit of the run."""
    s = run.summary
    rows: list[list[Any]] = [["run folder", str(run.run_dir)]]
    for key in ("phase", "target", "users", "started_at", "duration_s"):
        if key in s:
            rows.append([key, fmt_num(s[key])])
    meta: Mapping[str, Any] = s.get("meta") or {}
    for key, value in meta.items():
        if isinstance(value, dict):
            rows.extend([f"{key}.{k}", _fmt_any(v)] for k, v in value.items())
        else:
            rows.append([key, _fmt_any(value)])
    return section("Run metadata", table(["", ""], rows), "meta")
