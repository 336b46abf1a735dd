"""A master's quit waits for its workers' last reports, so nothing their users did at stop is lost.

Locust's ``MasterRunner.quit`` tells the workers to quit and gives them half a second for their
last report. A worker first stops its users, waiting up to the stop timeout for the calls in
flight and then killing what still runs (each a failure ``cut off at stop``,
:mod:`agentload.locust.window`); only then does it send its last statistics, and ``quit``. So in
a run with workers, calls that ended in the stop timeout, and the calls cut off, never reached
the master's figures (a local runner has them all). ``quit`` is wrapped once at import: when a
test is running, it stops it on the master as Locust's does (so no worker that quits is given
users again), sends the quit messages itself, waits until each connected worker has said it
quit (its last report came first, on the same connection), at most the stop timeout and
:data:`GRACE_S`; then Locust's own quit runs (and finds the test stopped and no worker left to
tell). A quit with no test running (a refused worker, a second quit) is Locust's alone.
"""

from __future__ import annotations

from locust.rpc import Message
from locust.runners import STATE_MISSING, STATE_RUNNING, STATE_SPAWNING, MasterRunner

import functools
import time
from collections.abc import Callable
from typing import Any

import gevent

GRACE_S = 5.0  # past the stop timeout: a worker's kill, its last report and its quit


def wait_for_workers(runner: Any) -> None:
    """Tell ``runner``'s connected workers to quit and wait for each to say it did (bounded)."""
    workers = [w for w in runner.clients.all if w.state != STATE_MISSING]
    for worker in workers:
        runner.server.send_to_client(Message("quit", None, worker.id))  # type: ignore[no-untyped-call]
    deadline = time.monotonic() + float(runner.environment.stop_timeout or 0) + GRACE_S
    while time.monotonic() < deadline and any(w.id in runner.clients for w in workers):
        gevent.sleep(0.1)


def _waiting(quit: Callable[[Any], None]) -> Callable[[Any], None]:
    @functools.wraps(quit)
    def wrapper(runner: Any) -> None:
        if runner.state in (STATE_SPAWNING, STATE_RUNNING):
            runner.stop(send_stop_to_client=False)
            wait_for_workers(runner)
        quit(runner)

    wrapper.__agentload_waits__ = True  # type: ignore[attr-defined]
    return wrapper


if not getattr(MasterRunner.quit, "__agentload_waits__", False):
    MasterRunner.quit = _waiting(MasterRunner.quit)  # type: ignore[method-assign,assignment]
