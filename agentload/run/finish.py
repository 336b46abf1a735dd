"""The end of a run: summary.json, junit.xml, report.html, the baseline comparison, the last lines.

`finish_run(run)` builds the summary from what the run folder holds (so an interrupted run reports
what it measured), writes it atomically, and prints which verdict, why, and where the results are.
"""

from __future__ import annotations

import logging
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentload.errors import AgentloadError, ConfigError, ExitCode
from agentload.gates import shown_expr
from agentload.metrics.knee import no_knee_finding
from agentload.metrics.llm import tokens_findings
from agentload.metrics.measurement import measurement_notes
from agentload.metrics.precision_text import entry_lines, precision_line, totals_text
from agentload.metrics.saturation import saturation_finding
from agentload.metrics.sweep import sweep_finding
from agentload.metrics.until import stop_lines
from agentload.redaction import shown_url
from agentload.results.junit import write_junit
from agentload.results.reading import read_json, read_timeline
from agentload.results.replay import replay_finding, replay_section
from agentload.results.requests_file import PARTS_DIR, merge_parts
from agentload.results.summary import build_summary, write_json_atomic

if TYPE_CHECKING:
    from agentload.run.context import FinishedRun

log = logging.getLogger("agentload")


def finish_run(ctx: FinishedRun) -> ExitCode:
    """Write the results and return the exit code (printing the last console lines)."""
    out = ctx.out_dir
    late = [e for e in ctx.write_errors() if e != ctx.abort_reason]
    try:
        summary, code = _summary(ctx)
        write_json_atomic(out / "summary.json", summary)
        write_junit(out / "junit.xml", summary)
    except AgentloadError as exc:
        log.error("ERROR (exit 2): %s", exc)
        log.error("results (incomplete): %s", _shown(out))
        return ExitCode.USAGE
    for error in late:  # failed after the run stopped (an abort has already said its own)
        log.error("%s", error)
    code = _report(ctx, ExitCode.USAGE if late else code)
    _last_lines(ctx, summary, code)
    return code


def _summary(ctx: FinishedRun) -> tuple[dict[str, Any], ExitCode]:
    out = ctx.out_dir
    final = read_json(out / "final.json")
    extra: dict[str, Any] = {"meta": _meta(ctx)}
    if requests_file := _merge_requests(ctx, out):
        extra["requests_file"] = requests_file
    if "until" in ctx.record.sections:  # --until: why the run stopped, the figures' precision
        extra["until"] = ctx.record.sections["until"]
    if "sweep" in ctx.record.sections:
        extra["sweep"] = ctx.record.sections["sweep"]
    if "over_saturated" in ctx.record.sections:  # a rate run: null, or why it ended early
        extra["over_saturated"] = ctx.record.sections["over_saturated"]
    if "replay" in ctx.record.sections:  # the trace, its rows, the schedule's fidelity
        extra["replay"] = replay_section(ctx.record.sections["replay"]["trace"], final)
    if ctx.config.workers:
        extra["workers"] = {"expected": ctx.config.workers, "lost": ctx.record.lost_workers}
    elif ctx.config.expect_workers:  # remote workers: who took part (over every Locust run)
        extra["workers"] = {
            "expected": ctx.config.expect_workers,
            "connected": list(ctx.record.remote_workers.values()),
            "lost": ctx.record.lost_workers,
        }
    # A run that made no request at all (e.g. a web UI run nobody started) fails its gates as
    # not evaluable instead of calling the profile's entries unknown.
    entries = (final or {}).get("entries") or {}
    no_load = not any(e.get("requests") for e in entries.values())
    if no_load:
        ctx.record.notes.append("no requests were made: the gates could not be evaluated")
    if ctx.record.notes:
        extra["notes"] = list(ctx.record.notes)
    if ctx.api_plan is not None:
        plan = ctx.api_plan
        extra["api"] = {
            "name": plan.description.name or plan.path.stem,
            "path": str(plan.path),
            "weights": {sc.name: sc.weight for sc in plan.active()},
            "datasets": plan.datasets(),
        }
    elif ctx.user_locustfile is not None:
        extra["api"] = {"locustfile": str(ctx.user_locustfile)}
    if ctx.record.gate_abort and not ctx.abort_reason:
        extra["abort_reason"] = f"early abort: {ctx.record.gate_abort}"
    kwargs: dict[str, Any] = {
        "phase": ctx.phase,
        "started_at": ctx.started_at,
        "target": ctx.target.url if ctx.target else shown_url(ctx.config.host or ""),
        "final": final,
        "timeline": read_timeline(out / "timeline.jsonl"),
        "gates": ctx.gates,
        "stress": ctx.record.sections.get("stress"),
        "profile": ctx.record.sections.get("profile"),
        "server_side": ctx.server_side,
        "extra": extra,
        # a plan's entries were checked before the load: one it did not reach had no requests
        "strict_gates": False if ctx.record.gate_abort or no_load or ctx.api_plan else None,
        "load_entry": ctx.api_plan.entry_of(None) if ctx.api_plan else ctx.config.entry,
        "planned_s": ctx.record.planned_s,  # its figures checked: measured or not
        "allow_inconclusive": ctx.allow_inconclusive,  # the option, or the profile's key
    }
    if ctx.config_error is None:
        try:
            summary = build_summary(abort_reason=ctx.abort_reason, **kwargs)
            return summary, ExitCode(summary["exit_code"])
        except ConfigError as exc:
            ctx.config_error = str(exc)
    summary = build_summary(abort_reason=ctx.config_error, **kwargs)
    summary["verdict"], summary["exit_code"] = "error", int(ExitCode.USAGE)
    return summary, ExitCode.USAGE


def _merge_requests(ctx: FinishedRun, out: Path) -> dict[str, Any] | None:
    """Each Locust run's parts into its folder's requests.jsonl.gz (the sweep's and the profile's
    inner runs have their own folders); the run folder's own file for summary.json. A file that
    cannot be written (a full disk) is a write error of the results, said in one line."""
    try:
        for parts in sorted(out.glob(f"*/**/{PARTS_DIR}")):
            merge_parts(parts.parent)
        return merge_parts(out)
    except AgentloadError as exc:
        ctx.late_write_errors.append(str(exc))
        log.error("%s", exc)
        return None


def _report(ctx: FinishedRun, code: ExitCode) -> ExitCode:
    """report.html, and the comparison with `--baseline` (a regression turns a pass into exit 1)."""
    try:
        from agentload.report.build import build_report
    except ImportError:
        return code
    try:
        build_report(ctx.out_dir)
    except OSError as exc:  # disk full: no half-written report, and the results are incomplete
        (ctx.out_dir / "report.html.tmp").unlink(missing_ok=True)
        error = f"cannot write {ctx.out_dir / 'report.html'}: {exc.strerror or exc}"
        ctx.late_write_errors.append(error)
        log.error("%s", error)
        return ExitCode.USAGE
    except Exception as exc:  # a report problem must not hide the run's verdict
        log.warning("report.html not written: %s: %s", type(exc).__name__, exc)
    if ctx.config.baseline is not None and code in (ExitCode.OK, ExitCode.GATE_FAILED):
        try:
            from agentload.report.commands import compare_after_run

            if compare_after_run(ctx.config.baseline, ctx.out_dir) != 0:
                log.error("regression against baseline %s", ctx.config.baseline)
                ctx.regression = True
                return ExitCode.GATE_FAILED
        except AgentloadError as exc:
            log.error("baseline comparison: %s", exc)
            return ExitCode.USAGE
    return code


def _last_lines(ctx: FinishedRun, summary: dict[str, Any], code: ExitCode) -> None:
    phase, verdict = ctx.phase, str(summary.get("verdict")).upper()
    gates = summary.get("gates") or []
    failed = [g for g in gates if not g.get("passed")]
    if summary.get("verdict") == "aborted":
        why = f"run aborted: {summary.get('abort_reason')}"
    elif code is ExitCode.USAGE and ctx.write_errors():
        why = f"results incomplete: {ctx.write_errors()[0]}"
    elif code is ExitCode.USAGE:
        why = f"configuration error: {summary.get('abort_reason')}"
    elif failed and not (summary.get("totals") or {}).get("requests"):
        why = f"no requests were made, so none of the {len(gates)} gates could be evaluated"
    elif failed:
        why = "; ".join(_gate_said(g) for g in failed)
        if ctx.record.gate_abort:
            why = f"stopped early ({ctx.record.gate_abort}); {why}"
        if ctx.regression:
            why += f"; regression against baseline {ctx.config.baseline}"
    elif ctx.regression:
        why = f"regression against baseline {ctx.config.baseline}"
    else:
        why = f"all {len(gates)} gates passed"
    allowed = [g for g in gates if g.get("passed") and g.get("status") == "inconclusive"]
    if allowed and not failed and why.startswith("all "):
        why = f"{len(gates) - len(allowed)} of {len(gates)} gates passed, {len(allowed)} allowed"
    totals = summary.get("totals") or {}
    log.info("%s: %d requests, %s", phase, totals.get("requests") or 0, totals_text(summary))
    for line in [*entry_lines(summary), precision_line(summary)]:
        if line:
            log.info("%s: %s", phase, line)
    for g in allowed:  # shown, as allowed by --allow-inconclusive or the profile
        by = "--allow-inconclusive" if ctx.config.allow_inconclusive else "the profile"
        expr = shown_expr(g.get("name", ""), g["expr"])
        log.warning("%s: gate %r inconclusive (allowed by %s): %s", phase, expr, by, g["reason"])
    for finding in _findings(summary):
        log.info("%s: %s", phase, finding)
    for line in measurement_notes(summary):
        log.info("%s: %s", phase, line)
    for line in stop_lines(summary.get("until")):
        log.info("%s: %s", phase, line)
    log.info("%s %s (exit %d): %s", phase, verdict, int(code), why)
    log.info("results: %s (summary.json, junit.xml, report.html, runner.log)", _shown(ctx.out_dir))


_HELD = {
    "knee": "the knee",
    "not_saturated": "the largest step, as the search found no knee",
    "largest_step": "the largest step, as the search found no knee",
}


def _findings(summary: dict[str, Any]) -> list[str]:
    """What the load, stress and profile phases found, one line each."""
    lines = []
    load = summary.get("load") or {}
    if load.get("steps"):
        point, peak = load.get("degradation"), max(s["users"] for s in load["steps"])
        if point:
            lines.append(
                f"P95 of {load.get('entry')} starts to degrade at {point['users']} users "
                f"({point['rps']:.1f} rps, P95 {point['p95_ms']:.0f} ms)"
            )
        else:
            lines.append(f"P95 of {load.get('entry')} did not degrade up to {peak} users")
    stress = summary.get("stress") or {}
    if knee := stress.get("knee"):
        p95 = f"{knee['p95_ms']:.0f} ms" if knee.get("p95_ms") is not None else "n/a"
        lines.append(
            f"knee at {knee['users']} users: {knee['rps']:.1f} rps, P95 {p95}"
            f" (stopped: {stress.get('stop_reason')}; saturated first: {stress.get('saturated')})"
        )
    elif no_knee := no_knee_finding(stress, str(summary.get("phase") or "stress")):
        lines.append(no_knee)
    profile = summary.get("profile") or {}
    if profile.get("users") is not None and profile.get("users_from") in _HELD:
        lines.append(f"profiled {profile['users']} users: {_HELD[profile['users_from']]}")
    if top := profile.get("top_functions"):
        first = top[0]
        lines.append(
            f"hottest function: {first['function']} ({first['file']}:{first['line']}), "
            f"{first['self_pct']:.1f}% self; flame graph: {profile.get('flamegraph')}"
        )
    if sweep := summary.get("sweep"):
        lines.append(sweep_finding(sweep))
    if saturated := summary.get("over_saturated"):
        lines.append(saturation_finding(saturated))
    if replay := summary.get("replay"):
        lines.append(replay_finding(replay))
    lines += tokens_findings(summary.get("llm") or {})
    return lines


def _shown(path: Path) -> str:
    """The path relative to the working folder when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _gate_said(gate: dict[str, Any]) -> str:
    """``gate 'X' failed: reason``, or ``inconclusive (fails the run; ...)``."""
    outcome = "failed"
    if gate.get("status") == "inconclusive":
        outcome = "inconclusive (fails the run; --allow-inconclusive passes it)"
    expr = shown_expr(gate.get("name", ""), gate["expr"])
    return f"gate {expr!r} {outcome}: {gate.get('reason', '')}"


def _meta(ctx: FinishedRun) -> dict[str, Any]:
    """Options as given, versions, git commit and host name (the report's "Run metadata")."""
    versions = {"python": platform.python_version()}
    for dist in ("agentload", "locust"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None  # type: ignore[assignment]
    return {
        "options": dict(ctx.config.options),
        "versions": versions,
        "git_commit": _git_commit(),
        "host": platform.node(),
        "pids": ctx.pids,
    }


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None
