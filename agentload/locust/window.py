"""The measurement window and the requests in flight at stop, merged across workers.

Every process notes, from Locust's ``request`` event, when its first request started and its last
response ended (wall clock), and counts requests in flight: Locust's two HTTP sessions
(``HttpSession`` and ``FastHttpSession``) are wrapped once at import so that a request a user is
killed in (Locust's ``--stop-timeout`` ran out) is counted ``cut_off`` and, instead of vanishing,
fires Locust's ``request`` event from the dying user as a failure of its own entry (``METHOD
name``), :data:`CUT_OFF` (``cut off at stop``), with the time it had been in flight;
:func:`track` does the same for a body read after ``request`` returned (a stream, a plain answer
read within its limits). So a cut-off request is in the entry's counts, its error rate, the
gates and ``requests.jsonl.gz``. Only when a stop timeout was set (agentload always sets one):
without one, Locust kills the users at once by design, and what they had in flight is only
counted ``cut_off``, as Locust itself drops it (:meth:`MeasurementWindow.reports_kills`). The
master or local runner notes ``steady_start``, when all users of the first spawn were running,
and how many requests were in flight when the test began stopping.

A worker sends ``{"first", "last", "cut_off", "in_flight_at_stop", "aborted_at_stop"}`` under
``agentload_window`` on each ``report_to_master``; the master keeps the earliest first, the latest
last and sums the counts. ``WINDOW.to_json()`` on the master or a local runner gives
``{"start", "end", "steady_start", "in_flight_at_stop", "cut_off", "aborted_at_stop",
"stopped_at", "send"}`` (unix seconds; None before any request; ``stopped_at``: when the test
began stopping; ``send``: the run's send window, :mod:`agentload.locust.send_window`;
``cut_off``: requests killed that began before the stop, or belong to a scenario task that did
(:func:`begin_task`: a session's next step, a job's next poll); ``aborted_at_stop``: requests
a user started after the stop began, in a task begun after it, killed with it: never part of
anything in flight at stop, not counted anywhere else).
Everything resets when a test starts.
"""

from __future__ import annotations

from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession
from locust.exception import CatchResponseError
from locust.runners import WorkerRunner

import functools
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from gevent import GreenletExit

from agentload.locust import send_window
from agentload.locust.hooks import listen

REPORT_KEY = "agentload_window"
_TASK_BEFORE_STOP = "agentload_task_before_stop"  # a user's attribute (begin_task)
CUT_OFF_REASON = "cut off at stop"
#: The failure of every request cut off at stop (one instance: listeners tell it by identity).
CUT_OFF = CatchResponseError(CUT_OFF_REASON)


class MeasurementWindow:
    """First request start, last response end, requests in flight and cut off, of one process
    (on the master: of its workers too)."""

    def __init__(self) -> None:
        self.reset()
        self._is_worker = False
        self._environment: Any = None

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
        self.stopped_at: float | None = None  # when the test began stopping (unix s)

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
            "stopped_at": self.stopped_at,
            "send": send_window.WINDOW.to_json(),
        }

    def killed(self, started: float, user: Any) -> bool:
        """A request begun at ``started`` (unix s) is killed with its ``user``: counted
        ``cut_off`` when it began before the test began stopping, or belongs to a task that did
        (a session's next step, a job's next poll: the task was in flight at stop); else
        ``aborted_at_stop``: a user woken from its think time in the same instant as Locust's
        kill, whose request was never part of anything in flight at stop. True when it is to
        be reported as a failure of its entry (cut off, and :meth:`reports_kills`)."""
        stopped = self.stopped_at
        if stopped is None or started < stopped or getattr(user, _TASK_BEFORE_STOP, False):
            self.cut_off += 1
            self._pending_cut_off += 1
            return self.reports_kills()
        self.aborted_at_stop += 1
        self._pending_aborted += 1
        return False

    def reports_kills(self) -> bool:
        """Whether what Locust kills is reported (failures, outcomes): only when the users were
        given a stop timeout (a worker has its master's), which then ran out."""
        return bool(getattr(self._environment, "stop_timeout", 0))

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
        self._environment = environment

    def _on_test_start(self, **_kw: Any) -> None:
        self.reset()

    def _on_spawning_complete(self, **_kw: Any) -> None:
        if self.steady_start is None and not self._is_worker:
            self.steady_start = time.time()

    def _on_test_stopping(self, **_kw: Any) -> None:
        if self.stopped_at is None:
            self.stopped_at = time.time()
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


def begin_task(user: Any) -> bool:
    """``user`` begins a scenario task: True unless the test is already stopping (a task begun
    before the stop is in flight at stop, and so is each of its requests, even one it sends
    during the stop timeout)."""
    before = WINDOW.stopped_at is None
    setattr(user, _TASK_BEFORE_STOP, before)
    return before


class _Tracked:
    """``with track(resp, user):`` (see :func:`track`)."""

    __slots__ = ("resp", "user")

    def __init__(self, resp: Any, user: Any) -> None:
        self.resp = resp
        self.user = user

    def __enter__(self) -> None:
        WINDOW.in_flight += 1

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        WINDOW.in_flight -= 1
        if kind is not None and issubclass(kind, GreenletExit):
            meta = self.resp.request_meta
            if WINDOW.killed(meta["start_time"], self.user):  # the response reports it on exit
                meta["response_time"] = (time.time() - meta["start_time"]) * 1000
                self.resp.failure(CUT_OFF)


def track(resp: Any, user: Any) -> _Tracked:
    """A context manager counting the read of ``resp``'s body (a ``catch_response`` response
    of Locust's, inside its ``with``; ``user``'s) as a request in flight; a kill inside it
    makes the response a failure :data:`CUT_OFF`, timed from the request's start, that Locust
    reports as the ``with`` ends."""
    return _Tracked(resp, user)


def _cut_off(session: Any, method: str, name: str, url: str, started: float) -> None:
    """Report a request killed in flight as a failure of its entry (from the dying user)."""
    user = getattr(session, "user", None)
    session.request_event.fire(
        request_type=method,
        name=name,
        response_time=(time.time() - started) * 1000,
        response_length=0,
        response=None,
        exception=CUT_OFF,
        context=user.context() if user is not None else {},
        start_time=started,
        url=url,
    )


def _counted(request: Callable[..., Any]) -> Callable[..., Any]:
    """Locust's ``request`` counted in flight; killed in it: :func:`_cut_off` (inlined try
    blocks: this runs for every request)."""

    @functools.wraps(request)
    def wrapper(session: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        window = WINDOW
        window.in_flight += 1
        started = time.time()
        try:
            return request(session, method, url, *args, **kwargs)
        except GreenletExit:
            if window.killed(started, getattr(session, "user", None)):
                given = kwargs.get("name") or (args[0] if args else None)
                name = given or getattr(session, "request_name", None) or url
                _cut_off(session, method, str(name), url, started)
            raise
        finally:
            window.in_flight -= 1

    wrapper.__agentload_counted__ = True  # type: ignore[attr-defined]
    return wrapper


for _session in (HttpSession, FastHttpSession):
    if not getattr(_session.request, "__agentload_counted__", False):
        _session.request = _counted(_session.request)  # type: ignore[method-assign]
