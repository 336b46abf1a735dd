"""The run's server-side view: a Prometheus for the run (or ``--prometheus URL``) that scrapes the
target, its engine and Locust's client metrics, queried over the client's measurement window at
the end (summary.json's ``server_side``). Without one, the section says what is missing and why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentload.processes import free_port
from agentload.results.reading import read_json
from agentload.results.summary import measurement_window
from agentload.run.config import RunConfig
from agentload.run.context import PhaseRecord
from agentload.run.target import EmbeddedTarget, RemoteTarget

log = logging.getLogger("agentload")


class ServerView:
    """The Prometheus session of one run and what it found."""

    def __init__(self) -> None:
        self.session: Any = None  # a started or external PrometheusSession
        self.client_metrics_port: int | None = None  # where Locust serves its client metrics
        self.section: dict[str, Any] | None = None  # summary.json's server_side

    def start(
        self,
        config: RunConfig,
        out_dir: Path,
        target: EmbeddedTarget | RemoteTarget,
        track: Callable[[str, list[int]], None],
        notes: list[str],
    ) -> None:
        """A Prometheus for the run (or `--prometheus URL`); without one, say what is missing."""
        from agentload import prometheus as prom

        if config.no_prometheus:
            self.section = prom.missing_server_side("--no-prometheus given")
            return
        self.client_metrics_port = free_port()
        targets = prom.ScrapeTargets(
            target.url, target.engine_url, f"http://127.0.0.1:{self.client_metrics_port}"
        )
        try:
            if config.prometheus:
                self.session = prom.PrometheusSession.external(config.prometheus)
            else:
                self.session = prom.start_prometheus(out_dir, targets)
            log.info("prometheus at %s", self.session.url)
            if self.session.pid is not None:
                track("prometheus", [self.session.pid])
        except prom.PrometheusError as exc:
            self.section = prom.missing_server_side(str(exc))
            notes.append(f"server-side view missing: {exc}")
            log.warning("server-side view missing: %s", exc)

    def finish(self, out_dir: Path, record: PhaseRecord, interrupted: str | None) -> None:
        """Query the server-side view over the load window, then stop the run's Prometheus."""
        from agentload import prometheus as prom

        session = self.session
        process = getattr(session, "process", None)
        try:
            if interrupted is not None:
                self.section = prom.missing_server_side(interrupted)
                return
            if process is not None and process.poll() is not None:
                code = process.returncode
                reason = f"prometheus (pid {process.pid}) died mid-run, exit code {code}"
            elif not record.load_window:
                reason = "no load ran"
            else:
                try:
                    final = read_json(out_dir / "final.json") or {}
                    start, end = _server_window(final, record)
                    entries = final.get("entries")
                    self.section = prom.server_side(session.url, start, end, entries)
                    prom.export_series(session.url, start, end, out_dir)
                    return
                except Exception as exc:  # Prometheus unreachable or a query failing: report
                    reason = f"Prometheus query failed: {exc}"
            self.section = prom.missing_server_side(reason)
            record.notes.append(f"server-side view missing: {reason}")
            log.warning("server-side view missing: %s", reason)
        finally:
            session.stop()


def _server_window(final: dict[str, Any], record: PhaseRecord) -> tuple[float, float]:
    """The client's measurement window (first request to last response of the results
    folder's run: in the profile phase, the hold); else the last Locust run's lifetime."""
    window = measurement_window(final)
    if window is not None:
        return window["start"], window["end"]
    return record.load_window[-1], record.load_end or time.time()
