"""The report's banner and tables: gates, key figures, agent outcomes, run metadata."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

from agentload.metrics.measurement import measurement_notes
from agentload.metrics.precision_text import by_name, number
from agentload.report.html import fmt_any, fmt_ms, fmt_num, fmt_pct, section, table
from agentload.report.precision_cells import ms_cell, pct_cell, rate_cell, thin_table
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
    failed = [str(g.get("name") or g.get("expr")) for g in gates if _result(g) == "FAIL"]
    if failed:
        detail += " — failed gates: " + ", ".join(failed)
    unsure = [str(g.get("name") or g.get("expr")) for g in gates if _result(g) == "inconclusive"]
    if unsure:
        detail += " — inconclusive gates: " + ", ".join(unsure)
    compared = run.comparison
    if compared:
        if compared.get("regressed"):
            said = "REGRESSION"
        elif compared.get("failed"):
            said = "INCONCLUSIVE (a tolerance breached, the samples cannot tell)"
        else:
            said = "no regression"
        detail += f" — baseline comparison: {said}"
    return (
        f'<header class="banner {escape(verdict)}">'
        f"<div class=verdict>{escape(_VERDICT_TEXT.get(verdict, verdict.upper()))}</div>"
        f"<div><h1>agentload · {escape(run.phase)}</h1>"
        f"<p>{escape(str(s.get('target', '?')))} · started {escape(_when(s.get('started_at')))}"
        f" · {fmt_num(s.get('duration_s'))} s · {fmt_num(s.get('users'))} users</p>"
        f"<p>{escape(detail)}</p></div></header>"
    )


def _when(started: Any) -> str:
    """An ISO timestamp as ``2026-11-25 22:44:56 UTC`` (as given when it is not one)."""
    try:
        moment = datetime.fromisoformat(str(started))
    except ValueError:
        return str(started)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if moment.tzinfo else "")


def _observed(gate: Mapping[str, Any]) -> str:
    """The gate's own wording of what it saw (``observed 9ms``), else the number."""
    reason = gate.get("reason")
    if isinstance(reason, str) and reason.startswith("observed "):
        return reason.removeprefix("observed ")
    return str(reason) if reason else fmt_num(gate.get("observed"), 3)


def _result(gate: Mapping[str, Any]) -> str:
    """``pass``, ``FAIL``, ``inconclusive`` (its 95 % interval holds the threshold; ``(allowed)``
    when it does not fail the run), or ``not evaluated`` when nothing was measured."""
    if gate.get("status") == "inconclusive":
        return "inconclusive (allowed)" if gate.get("passed") else "inconclusive"
    if gate.get("passed"):
        return "pass"
    return "not evaluated" if gate.get("observed") is None else "FAIL"


def gates(run: RunData) -> str:
    """The gates table, failed gates highlighted."""
    rows, classes = [], []
    for g in run.summary.get("gates") or []:
        if not isinstance(g, dict):
            continue
        result = _result(g)
        rows.append([g.get("name", ""), g.get("expr", ""), _observed(g), result])
        classes.append({"pass": "ok", "FAIL": "bad", "inconclusive": "bad"}.get(result, "warn"))
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


def _ci_label(label: str, unit: str, ci: Any) -> str:
    """``error rate, 95 % [0.00–0.92]`` (the label alone without an interval)."""
    if not isinstance(ci, list) or len(ci) != 2:
        return label
    return f"{label}, 95 % [{number(unit, ci[0])}–{number(unit, ci[1])}]"


def kpis(run: RunData) -> str:
    """Headline numbers, then per-entry latencies (HTTP entries, then timing entries)."""
    totals: Mapping[str, Any] = run.summary.get("totals") or {}
    cards = [
        _kpi("requests", fmt_num(totals.get("requests"))),
        _kpi(_ci_label("requests / s", "/s", totals.get("rps_ci")), fmt_num(totals.get("rps"))),
        _kpi(_ci_label("error rate", "%", totals.get("error_rate_ci")),
             fmt_pct(totals.get("error_rate"))),
        _kpi(_ci_label("agent success", "%", totals.get("agent_success_rate_ci")),
             fmt_pct(totals.get("agent_success_rate"))),
    ]  # fmt: skip
    endpoints: Mapping[str, Any] = run.summary.get("endpoints") or {}
    figures = by_name(run.summary)
    timings = sorted(n for n in endpoints if not is_http(n) and isinstance(endpoints[n], dict))
    for name in timings[:4]:
        cards.append(_kpi(f"P95 {name}", fmt_ms(endpoints[name].get("p95_ms"))))
    names = sorted(endpoints, key=lambda n: (not is_http(n), n))
    rows = []
    for name in names:
        e = endpoints[name]
        if not isinstance(e, dict):
            continue
        failed: Mapping[str, Any] = e.get("failed") or {}
        rows.append(
            [
                name,
                fmt_num(e.get("requests")),
                fmt_num(e.get("failures")),
                pct_cell(
                    e.get("error_rate"), e.get("error_rate_ci"), figures.get(f"error_rate({name})")
                ),
                rate_cell(e.get("rps"), e.get("rps_ci")),
                *(
                    ms_cell(e, m, figures.get(f"{m}({name})"))
                    for m in ("p50", "p95", "p99", "p999")
                ),
                fmt_ms(e.get("max_ms")),
                fmt_ms(failed.get("p95_ms")) if failed.get("requests") else "–",
            ]
        )
    body = f"<div class=kpis>{''.join(cards)}</div>"
    if rows:
        headers = ["entry", "requests", "failures", "error rate", "RPS"]
        headers += ["P50", "P95", "P99", "P99.9", "max", "failed P95"]
        body += table(headers, rows) + _latency_note(run.summary) + _window_note(run.summary)
        body += thin_table(run.summary)
    body += _outcomes(run)
    return section("Key figures", body, "kpis")


def _latency_note(summary: Mapping[str, Any]) -> str:
    """Which requests and which histogram the latency columns come from."""
    hist: Mapping[str, Any] = (summary.get("meta") or {}).get("histogram") or {}
    if hist.get("kind") == "hdr":
        digits = hist.get("significant_digits", 3)
        return (
            "<p class=note>Latencies are over successful requests, from exact HdrHistograms "
            f"({digits} significant digits: within {100 / 10**digits:g} % of the true value); "
            "failed requests have their own (<em>failed P95</em>).</p>"
        )
    return (
        "<p class=note>Latencies of this run are Locust's rounded buckets over all requests, "
        "successes and failures together (recorded before exact histograms).</p>"
    )


def _window_note(summary: Mapping[str, Any]) -> str:
    """The measurement window every rate is over, and how the load was generated."""
    window: Mapping[str, Any] = summary.get("window") or {}
    notes = [f"{line[:1].upper()}{line[1:]}." for line in measurement_notes(dict(summary))]
    if window.get("seconds"):
        notes.insert(
            0,
            f"Rates are over the measurement window, {window['seconds']:.1f} s from the first "
            "request's start to the last response's end.",
        )
    return "".join(f"<p class=note>{escape(note)}</p>" for note in notes)


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
            rows.extend([f"{key}.{k}", fmt_any(v)] for k, v in value.items())
        else:
            rows.append([key, fmt_any(value)])
    return section("Run metadata", table(["", ""], rows), "meta")
