"""The measurement window and the requests in flight at stop, merged across workers.

Every process notes, from Locust's ``request`` event, when its first request started and its last
response ended (wall clock), and counts requests in flight: Locust's two HTTP sessions
(``HttpSession`` and ``FastHttpSession``) are wrapped once at import so that a request a user is
killed in (Locust's ``--stop-timeout`` ran out) is counted ``cut_off`` instead of vanishing;
:func:`track` does the same for a streamed body read after ``request`` returned. The master or
local runner notes ``steady_start``, when all users of the first spawn were running, and how many
requests were in flight when the test began stopping.

A worker sends ``{"first", "last", "cut_off", "in_flight_at_stop", "aborted_at_stop"}`` under
``agentload_window`` on each ``report_to_master``; the master keeps the earliest first, the latest
last and sums the counts. ``WINDOW.to_json()`` on the master or a local runner gives
``{"start", "end", "steady_start", "in_flight_at_stop", "cut_off", "aborted_at_stop"}`` (unix
seconds; None before any request; ``aborted_at_stop``: requests a user started after the stop
began, killed with it: never in flight at stop, not counted anywhere else). Everything resets
when a test starts.
"""

from __future__ import annotations

from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession
from locust.runners import WorkerRunner

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from gevent import GreenletExit

from agentload.locust.hooks import listen

REPORT_KEY = "agentload_window"


class MeasurementWindow:
    """First request start, last response end, requests in flight and cut off, of one process
    (on the master: of its workers too)."""

    def __init__(self) -> None:
        self.reset()
        self._is_worker = False

    def reset(self) -> None:
        self.first: float | None = None
        self.last: float | None = None
        self.steady_start: float | None = None
        self.in_flight = 0
        self.in_flight_at_stop = 0
        self.cut_off = 0
        self.aborted_at_stop = 0
        self._pending_cut_off = 0
        self._pending_aborted = 0
        self._pending_at_stop = 0
        self._stopping = False

    def note_request(self, start: float, end: float) -> None:
        if self.first is None or start < self.first:
            self.first = start
        if self.last is None or end > self.last:
            self.last = end

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.first,
            "end": self.last,
            "steady_start": self.steady_start,
            "in_flight_at_stop": self.in_flight_at_stop,
            "cut_off": self.cut_off,
            "aborted_at_stop": self.aborted_at_stop,
        }

    @contextmanager
    def tracking(self) -> Iterator[None]:
        """Count the block as a request in flight; a kill inside it counts one ``cut_off``
        unless the request started after the test began stopping (a user woken from its think
        time in the same instant as Locust's kill: that request was never in flight at stop)."""
        self.in_flight += 1
        stopping = self._stopping
        try:
            yield
        except GreenletExit:
            if not stopping:
                self.cut_off += 1
                self._pending_cut_off += 1
            else:  # started after the stop began, killed with its user: never in flight at stop
                self.aborted_at_stop += 1
                self._pending_aborted += 1
            raise
        finally:
            self.in_flight -= 1

    # -- Locust events ---------------------------------------------------------------------------
    def register(self) -> MeasurementWindow:
        listen("init", self._on_init)
        listen("test_start", self._on_test_start)
        listen("spawning_complete", self._on_spawning_complete)
        listen("test_stopping", self._on_test_stopping)
        listen("request", self._on_request)
        listen("report_to_master", self._on_report_to_master)
        listen("worker_report", self._on_worker_report)
        return self

    def _on_init(self, environment: Any, **_kw: Any) -> None:
        self._is_worker = isinstance(environment.runner, WorkerRunner)

    def _on_test_start(self, **_kw: Any) -> None:
        self.reset()

    def _on_spawning_complete(self, **_kw: Any) -> None:
        if self.steady_start is None and not self._is_worker:
            self.steady_start = time.time()

    def _on_test_stopping(self, **_kw: Any) -> None:
        self._stopping = True
        self.in_flight_at_stop += self.in_flight
        self._pending_at_stop += self.in_flight

    def _on_request(self, response_time: float | None = None, **_kw: Any) -> None:
        end = time.time()
        self.note_request(end - float(response_time or 0.0) / 1000.0, end)

    def _on_report_to_master(self, client_id: str, data: dict[str, Any]) -> None:
        data[REPORT_KEY] = {
            "first": self.first,
            "last": self.last,
            "cut_off": self._pending_cut_off,
            "in_flight_at_stop": self._pending_at_stop,
            "aborted_at_stop": self._pending_aborted,
        }
        self._pending_cut_off = self._pending_at_stop = self._pending_aborted = 0

    def _on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        report = data.get(REPORT_KEY)
        if not report:
            return
        if report.get("first") is not None and report.get("last") is not None:
            self.note_request(float(report["first"]), float(report["last"]))
        self.cut_off += int(report.get("cut_off") or 0)
        self.in_flight_at_stop += int(report.get("in_flight_at_stop") or 0)
        self.aborted_at_stop += int(report.get("aborted_at_stop") or 0)


WINDOW = MeasurementWindow().register()


def track() -> Any:
    """A context manager counting a request in flight (e.g. a streamed body being read)."""
    return WINDOW.tracking()


def _counted(request: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(request)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with WINDOW.tracking():
            return request(*args, **kwargs)

    wrapper.__agentload_counted__ = True  # type: ignore[attr-defined]
    return wrapper


for _session in (HttpSession, FastHttpSession):
    if not getattr(_session.request, "__agentload_counted__", False):
        _session.request = _counted(_session.request)  # type: ignore[method-assign]
