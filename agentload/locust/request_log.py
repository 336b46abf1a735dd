"""Each load-generating process' part of ``requests.jsonl.gz``
(:mod:`agentload.results.requests_file`).

With ``--agentload-requests DIR`` a local runner or a worker writes one line per HTTP request
(a Locust ``request`` event that carries a response, or a request cut off at stop,
:data:`~agentload.locust.window.CUT_OFF`: outcome ``timeout``, reason ``cut off at stop``; the
timing entries ``TTFT``/``TPOT``/``TTC`` and ``record_entry`` carry none and get no line) to
``DIR/requests.parts/<worker>-<pid>.jsonl.gz``.
A request made inside a scenario task (:func:`begin` ... :func:`end`, from
:mod:`agentload.locust.tasks`) waits for the task to end and gets its context: the scenario, the
intended start, the TTFT and tokens of a stream and the task's outcome (on its first request,
``part: "call"``; a job's polls and cancel are ``part: "poll"``, a session's later steps
``part: "step"``, each with its own HTTP outcome; a task that ended without an outcome, begun
after the stop began and killed with its user, ``null``). Other requests (a user's own
locustfile) get ``scenario: null`` and their HTTP outcome.
:func:`dropped` writes an open-model arrival given up. ``in_window`` is false on the lines of a
call sent outside the run's window (warm-up, cool-down: :mod:`agentload.locust.send_window`).

Cost on the hot path: a tuple appended to a list and one seeded key (:class:`Sampler`); a
greenlet encodes and gzips the lines every ``FLUSH_S`` and at test stop.
"""

from __future__ import annotations

from locust.runners import MasterRunner, WorkerRunner

import gzip
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
from gevent import getcurrent

from agentload.apis.verdicts import Verdict
from agentload.locust import send_window
from agentload.locust.entries import failure_verdict
from agentload.locust.hooks import listen
from agentload.locust.send_window import OUTSIDE
from agentload.locust.settings import settings
from agentload.locust.window import CUT_OFF, CUT_OFF_REASON
from agentload.metrics.llm import StreamMetrics
from agentload.results.requests_file import DEFAULT_CAP, PARTS_DIR, Sampler, part_batch

FLUSH_S = 1.0
_REASON_CHARS = 300

Row = list[Any]  # the schema's fields (agentload.results.requests_file.FIELDS) in order


@dataclass
class Call:
    """One scenario call in progress: its scenario, intended start (unix s) and its requests."""

    scenario: str
    intended: float | None
    rows: list[list[Any]] = field(default_factory=list)
    later: str = "poll"  # the part of its requests after the first: "poll", or a session's "step"


class RequestLog:
    """This process' part: rows buffered on the hot path, written by a greenlet."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.cap = DEFAULT_CAP
        self._runner: Any = None
        self._calls: dict[Any, Call] = {}
        self._buffer: list[Row] = []  # the rows kept, each with its key appended
        self._sampler: Sampler | None = None
        self._file: Any = None
        self._path: Path | None = None
        self._worker: int | str = "local"
        self._seed: Any = 0
        self._greenlet: Any = None

    def register(self) -> RequestLog:
        listen("init", self._on_init)
        listen("test_start", self._on_test_start)
        listen("request", self._on_request)
        listen("test_stop", self._on_test_stop)
        listen("quitting", self._on_quitting)
        return self

    # -- the calls' side -------------------------------------------------------------------------
    def begin(self, scenario: str, started_at: float | None, session: bool = False) -> Call | None:
        if self._sampler is None:
            return None
        intended = None if started_at is None else time.time() - (time.perf_counter() - started_at)
        call = Call(scenario, intended, later="step" if session else "poll")
        self._calls[getcurrent()] = call
        return call

    def end(self, call: Call, verdict: Verdict | None, metrics: StreamMetrics | None) -> None:
        self._calls.pop(getcurrent(), None)
        for i, row in enumerate(call.rows):
            row[0] = call.scenario
            if i > 0:
                row[1] = call.later
                continue
            if call.intended is not None:
                row[4] = call.intended
            row[13] = verdict.outcome if verdict is not None else None
            row[14] = (verdict.reason or None) if verdict is not None else "no outcome"
            if metrics is not None:
                row[6] = metrics.ttft_ms
                row[8], row[9] = metrics.input_tokens, metrics.output_tokens
                row[10] = metrics.token_source
        for row in call.rows:
            self._keep(row)

    def dropped(self, scenario: str, entry: str, lag_s: float, reason: str) -> None:
        if self._sampler is None:
            return
        intended = time.time() - lag_s
        row = [scenario, "call", entry, self._worker, intended, None, None, lag_s * 1000,
               None, None, None, None, True, "dropped", reason,
               not send_window.outside()]  # fmt: skip
        self._keep(row)

    # -- Locust events ---------------------------------------------------------------------------
    def _on_init(self, environment: Any, **_kw: Any) -> None:
        options = environment.parsed_options
        self._runner = environment.runner
        folder = getattr(options, "agentload_requests", "") if options is not None else ""
        if not folder or isinstance(environment.runner, MasterRunner):
            return
        self.folder = Path(folder)
        self.cap = _cap(getattr(options, "agentload_requests_cap", None))

    def _on_test_start(self, **_kw: Any) -> None:
        if self.folder is None:
            return
        self._close(remove=True)  # a new test (web UI): the statistics start again, so does this
        runner = self._runner
        index = getattr(runner, "worker_index", None) if isinstance(runner, WorkerRunner) else None
        self._worker = int(index) if index is not None else "local"
        seed = _seed()
        self._sampler = Sampler(self.cap, f"{seed}:requests:{self._worker}")
        parts = self.folder / PARTS_DIR
        parts.mkdir(parents=True, exist_ok=True)
        self._path = parts / f"{self._worker}-{os.getpid()}.jsonl.gz"
        self._file = gzip.open(self._path, "wt", encoding="utf-8", compresslevel=1)
        self._seed = seed
        self._greenlet = gevent.spawn(self._loop)

    def _on_request(
        self,
        request_type: str = "",
        name: str = "",
        response_time: float | None = None,
        response: Any = None,
        exception: Any = None,
        start_time: float | None = None,
        **_kw: Any,
    ) -> None:
        if self._sampler is None or (response is None and exception is not CUT_OFF):
            return
        status = int(getattr(response, "status_code", 0) or 0)
        if exception is None:
            outcome, reason = "success", None
        elif exception is CUT_OFF:
            outcome, reason = "timeout", CUT_OFF_REASON
        else:
            outcome = "error" if 200 <= status < 400 else failure_verdict(response).outcome
            reason = str(exception)[:_REASON_CHARS]
        start = float(start_time) if start_time is not None else time.time()
        row = [None, None, f"{request_type} {name}", self._worker, start, start, None,
               float(response_time or 0.0), None, None, None, status, exception is not None,
               outcome, reason, not (OUTSIDE and getcurrent() in OUTSIDE)]  # fmt: skip
        call = self._calls.get(getcurrent())
        if call is not None:
            row[1] = "call"
            call.rows.append(row)
        else:
            self._keep(row)

    def _on_test_stop(self, **_kw: Any) -> None:
        self._stop_loop()
        self.flush()

    def _on_quitting(self, **_kw: Any) -> None:
        self._stop_loop()
        self._close(remove=False)

    # -- writing ---------------------------------------------------------------------------------
    def _keep(self, row: Row) -> None:
        assert self._sampler is not None
        key = self._sampler.offer()
        if key is not None:
            row.append(key)
            self._buffer.append(row)

    def _loop(self) -> None:
        while True:
            gevent.sleep(FLUSH_S)
            self.flush()

    def _stop_loop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=True)
            self._greenlet = None

    def flush(self) -> None:
        """Encode and write the buffered rows; the gzip stream is flushed so that a killed
        process leaves every line written so far readable; then the part's meta."""
        if self._file is None or self._path is None or self._sampler is None:
            return
        rows, self._buffer = self._buffer, []
        if rows:
            self._file.write(part_batch(rows))
        self._file.flush()
        meta = {"part": self._path.name, "worker": self._worker, "cap": self.cap,
                "seed": self._seed, "seen": self._sampler.seen}  # fmt: skip
        meta_path = self._path.with_name(self._path.name.replace(".jsonl.gz", ".json"))
        tmp = meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, meta_path)

    def _close(self, remove: bool) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None
        if remove and self._path is not None:
            self._path.unlink(missing_ok=True)
            self._path.with_name(self._path.name.replace(".jsonl.gz", ".json")).unlink(
                missing_ok=True
            )
        self._path = None


def _cap(value: Any) -> int:
    """``--agentload-requests-cap``: a whole number >= 1, else one line on stderr and exit 2."""
    if value is None or value == "":
        return DEFAULT_CAP
    try:
        cap = int(str(value))
    except ValueError:
        cap = 0
    if cap < 1:
        sys.stderr.write(
            f"agentload: --agentload-requests-cap {value}: expected a whole number of lines >= 1\n"
        )
        raise SystemExit(2)
    return cap


def _seed() -> Any:
    try:
        return settings().plan.seed
    except RuntimeError:
        return 0


LOG = RequestLog().register()


def begin(scenario: str, started_at: float | None, session: bool = False) -> Call | None:
    """Start collecting the requests of one task of ``scenario`` (a ``session`` of steps, or
    one call) in this greenlet (None: off)."""
    return LOG.begin(scenario, started_at, session)


def end(call: Call | None, verdict: Verdict | None, metrics: StreamMetrics | None) -> None:
    """The call is over (``verdict`` None: no outcome): its requests get their lines."""
    if call is not None:
        LOG.end(call, verdict, metrics)


def dropped(scenario: str, entry: str, lag_s: float, reason: str) -> None:
    """An open-model arrival of ``scenario`` given up ``lag_s`` seconds late."""
    LOG.dropped(scenario, entry, lag_s, reason)
