"""The end of a run: summary.json, junit.xml, report.html, the baseline comparison, the last lines.

`finish(orch)` builds the summary from what the run folder holds (so an interrupted run reports what
it measured), writes it atomically, and prints which verdict, why, and where the results are.
"""

from __future__ import annotations

import logging
import platform
import subprocess
import sys
import threading
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from agentload.errors import AgentloadError, ConfigError, ExitCode
from agentload.metrics.knee import no_knee_finding
from agentload.metrics.measurement import measurement_notes
from agentload.metrics.stats import read_json, read_timeline
from agentload.metrics.sweep import sweep_finding
from agentload.results.junit import write_junit
from agentload.results.requests_file import PARTS_DIR, merge_parts
from agentload.results.summary import build_summary, write_json_atomic

if TYPE_CHECKING:
    from agentload.run.orchestrator import Orchestrator

log = logging.getLogger("agentload")


def finish(orch: Orchestrator) -> ExitCode:
    """Write the results and return the exit code (printing the last console lines)."""
    out = orch.out_dir
    late = [e for e in orch.write_errors() if e != orch.abort_reason]
    try:
        summary, code = _summary(orch)
        write_json_atomic(out / "summary.json", summary)
        write_junit(out / "junit.xml", summary)
    except AgentloadError as exc:
        log.error("ERROR (exit 2): %s", exc)
        log.error("results (incomplete): %s", _shown(out))
        return ExitCode.USAGE
    for error in late:  # failed after the run stopped (an abort has already said its own)
        log.error("%s", error)
    code = _report(orch, ExitCode.USAGE if late else code)
    _last_lines(orch, summary, code)
    return code


def _summary(orch: Orchestrator) -> tuple[dict[str, Any], ExitCode]:
    out = orch.out_dir
    final = read_json(out / "final.json")
    extra: dict[str, Any] = {"meta": _meta(orch)}
    if requests_file := _merge_requests(orch, out):
        extra["requests_file"] = requests_file
    if "sweep" in orch.sections:
        extra["sweep"] = orch.sections["sweep"]
    if orch.config.workers:
        extra["workers"] = {"expected": orch.config.workers, "lost": orch.lost_workers}
    elif orch.config.expect_workers:  # remote workers: who took part (over every Locust run)
        extra["workers"] = {
            "expected": orch.config.expect_workers,
            "connected": list(orch.remote_workers.values()),
            "lost": orch.lost_workers,
        }
    # A run that made no request at all (e.g. a web UI run nobody started) fails its gates as
    # not evaluable instead of calling the profile's entries unknown.
    entries = (final or {}).get("entries") or {}
    no_load = not any(e.get("requests") for e in entries.values())
    if no_load:
        orch.notes.append("no requests were made: the gates could not be evaluated")
    if orch.notes:
        extra["notes"] = list(orch.notes)
    if orch.api_plan is not None:
        plan = orch.api_plan
        extra["api"] = {
            "name": plan.description.name or plan.path.stem,
            "path": str(plan.path),
            "weights": {sc.name: sc.weight for sc in plan.active()},
            "datasets": plan.datasets(),
        }
    elif orch.user_locustfile is not None:
        extra["api"] = {"locustfile": str(orch.user_locustfile)}
    if orch.gate_abort and not orch.abort_reason:
        extra["abort_reason"] = f"early abort: {orch.gate_abort}"
    kwargs: dict[str, Any] = {
        "phase": orch.phase,
        "started_at": orch.started_at,
        "target": orch.target.url if orch.target else (orch.config.host or ""),
        "final": final,
        "timeline": read_timeline(out / "timeline.jsonl"),
        "gates": orch.gates,
        "stress": orch.sections.get("stress"),
        "profile": orch.sections.get("profile"),
        "server_side": orch.server_side,
        "extra": extra,
        "strict_gates": False if orch.gate_abort or no_load else None,
        "load_entry": orch.api_plan.entry_of(None) if orch.api_plan else orch.config.entry,
    }
    if orch.config_error is None:
        try:
            summary = build_summary(abort_reason=orch.abort_reason, **kwargs)
            return summary, ExitCode(summary["exit_code"])
        except ConfigError as exc:
            orch.config_error = str(exc)
    summary = build_summary(abort_reason=orch.config_error, **kwargs)
    summary["verdict"], summary["exit_code"] = "error", int(ExitCode.USAGE)
    return summary, ExitCode.USAGE


def _merge_requests(orch: Orchestrator, out: Path) -> dict[str, Any] | None:
    """Each Locust run's parts into its folder's requests.jsonl.gz (the sweep's and the profile's
    inner runs have their own folders); the run folder's own file for summary.json. A file that
    cannot be written (a full disk) is a write error of the results, said in one line."""
    try:
        for parts in sorted(out.glob(f"*/**/{PARTS_DIR}")):
            merge_parts(parts.parent)
        return merge_parts(out)
    except AgentloadError as exc:
        orch.late_write_errors.append(str(exc))
        log.error("%s", exc)
        return None


def _report(orch: Orchestrator, code: ExitCode) -> ExitCode:
    """report.html, and the comparison with `--baseline` (a regression turns a pass into exit 1)."""
    try:
        from agentload.report.build import build_report
    except ImportError:
        return code
    try:
        build_report(orch.out_dir)
    except OSError as exc:  # disk full: no half-written report, and the results are incomplete
        (orch.out_dir / "report.html.tmp").unlink(missing_ok=True)
        error = f"cannot write {orch.out_dir / 'report.html'}: {exc.strerror or exc}"
        orch.late_write_errors.append(error)
        log.error("%s", error)
        return ExitCode.USAGE
    except Exception as exc:  # a report problem must not hide the run's verdict
        log.warning("report.html not written: %s: %s", type(exc).__name__, exc)
    if orch.config.baseline is not None and code in (ExitCode.OK, ExitCode.GATE_FAILED):
        try:
            from agentload.report.commands import compare_after_run

            if compare_after_run(orch.config.baseline, orch.out_dir) != 0:
                log.error("regression against baseline %s", orch.config.baseline)
                orch.regression = True
                return ExitCode.GATE_FAILED
        except AgentloadError as exc:
            log.error("baseline comparison: %s", exc)
            return ExitCode.USAGE
    return code


def _last_lines(orch: Orchestrator, summary: dict[str, Any], code: ExitCode) -> None:
    phase, verdict = orch.phase, str(summary.get("verdict")).upper()
    gates = summary.get("gates") or []
    failed = [g for g in gates if not g.get("passed")]
    if summary.get("verdict") == "aborted":
        why = f"run aborted: {summary.get('abort_reason')}"
    elif code is ExitCode.USAGE and orch.write_errors():
        why = f"results incomplete: {orch.write_errors()[0]}"
    elif code is ExitCode.USAGE:
        why = f"configuration error: {summary.get('abort_reason')}"
    elif failed and not (summary.get("totals") or {}).get("requests"):
        why = f"no requests were made, so none of the {len(gates)} gates could be evaluated"
    elif failed:
        why = "; ".join(f"gate {g['expr']!r} failed: {g.get('reason', '')}" for g in failed)
        if orch.gate_abort:
            why = f"stopped early ({orch.gate_abort}); {why}"
        if orch.regression:
            why += f"; regression against baseline {orch.config.baseline}"
    elif orch.regression:
        why = f"regression against baseline {orch.config.baseline}"
    else:
        why = f"all {len(gates)} gates passed"
    totals = summary.get("totals") or {}
    log.info(
        "%s: %d requests, %.1f rps, error rate %s, agent success %s",
        phase,
        totals.get("requests") or 0,
        totals.get("rps") or 0.0,
        _pct(totals.get("error_rate")),
        _pct(totals.get("agent_success_rate")),
    )
    for finding in _findings(summary):
        log.info("%s: %s", phase, finding)
    for line in measurement_notes(summary):
        log.info("%s: %s", phase, line)
    log.info("%s %s (exit %d): %s", phase, verdict, int(code), why)
    log.info("results: %s (summary.json, junit.xml, report.html, runner.log)", _shown(orch.out_dir))


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
    return lines


class RunLogHandler(logging.FileHandler):
    """runner.log. When a write fails (disk full) it stops writing and keeps the one line in
    `error` (the run then stops on it), instead of logging's traceback on every later line."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8")
        self.error: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.error is None:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            super().handleError(record)
        elif self.error is None:
            self.error = f"cannot write {self.baseFilename}: {exc.strerror or exc}"

    def close(self) -> None:
        try:
            super().close()
        except OSError:  # the last flush on a full disk; the error is already known
            self.stream = None


class ThreadWriteGuard:
    """While a run lasts: an OSError ending one of the runner's writer threads (thread name →
    its file) is kept as one line in `error` instead of a traceback; other errors pass on."""

    def __init__(self, files: Mapping[str, Path]) -> None:
        self.files = dict(files)
        self.error: str | None = None
        self._previous = threading.excepthook

    def _hook(self, args: threading.ExceptHookArgs) -> None:
        path = self.files.get(args.thread.name) if args.thread is not None else None
        if path is None or not isinstance(args.exc_value, OSError):
            self._previous(args)
        elif self.error is None:
            self.error = f"cannot write {path}: {args.exc_value.strerror or args.exc_value}"

    def __enter__(self) -> ThreadWriteGuard:
        self._previous = threading.excepthook
        threading.excepthook = self._hook
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        threading.excepthook = self._previous


def _shown(path: Path) -> str:
    """The path relative to the working folder when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _pct(value: Any) -> str:
    return f"{100 * value:.2f}%" if isinstance(value, int | float) else "n/a"


def _meta(orch: Orchestrator) -> dict[str, Any]:
    """Options as given, versions, git commit and host name (the report's "Run metadata")."""
    versions = {"python": platform.python_version()}
    for dist in ("agentload", "locust"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None  # type: ignore[assignment]
    return {
        "options": dict(orch.config.options),
        "versions": versions,
        "git_commit": _git_commit(),
        "host": platform.node(),
        "pids": orch.pids,
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
