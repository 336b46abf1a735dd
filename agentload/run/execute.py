"""`execute(config)`: one phase run end to end, as `agentload run` calls it.

The order of calls on the :class:`~agentload.run.orchestrator.Orchestrator` (prepare, then start,
run and check with SIGINT/SIGTERM turned into a flag, stop whatever happened, finish), the console
log lines (``agentload: ...`` on stderr) and the exit code.
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import Any

from agentload.errors import AgentloadError, ConfigError, ExitCode, RunAborted
from agentload.run.config import RunConfig
from agentload.run.orchestrator import Orchestrator

log = logging.getLogger("agentload")


def execute(config: RunConfig) -> ExitCode:
    """Run one phase end to end; returns the exit code (the last console lines say why)."""
    _console_logging()
    orch = Orchestrator(config)
    try:
        orch.prepare()
    except AgentloadError as exc:
        log.error("error: %s", exc)
        return exc.exit_code
    previous = {sig: signal.signal(sig, orch.on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    orch.thread_guard.__enter__()
    try:
        orch.start()
        orch.run()
        orch.check()
    except RunAborted as exc:
        orch.abort_reason = exc.reason
        log.error("aborted: %s", exc.reason)
    except ConfigError as exc:
        orch.config_error = str(exc)
        log.error("error: %s", exc)
    except Exception as exc:  # a bug: still stop everything and keep the results
        log.debug("internal error", exc_info=True)
        orch.abort_reason = f"internal error {type(exc).__name__}: {exc} (traceback in runner.log)"
        log.error("aborted: %s", orch.abort_reason)
    finally:
        orch.stop()
    try:
        return orch.finish()
    finally:
        orch.thread_guard.__exit__(None, None, None)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        orch.close_log()


class _ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """INFO and up to whatever `sys.stderr` is at the time (so captured streams work)."""

    def __init__(self) -> None:
        super().__init__()
        self.setLevel(logging.INFO)
        self.setFormatter(logging.Formatter("agentload: %(message)s"))

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        return None


def _console_logging() -> None:
    if not any(isinstance(h, _ConsoleHandler) for h in log.handlers):
        log.addHandler(_ConsoleHandler())
    log.setLevel(logging.DEBUG)
    log.propagate = False
