"""Reading an answer's body within its limits: the call's deadline, a stream's idle limit between
chunks, and a size cap. Every read ends, and how it ended has a name.

geventhttpclient's own ``readline`` and ``read`` buffer without bound and wait as long as the
server keeps the connection open; these read the same parser buffer (``_body_buffer``, filled by
``feed`` from the socket) with a cap, and wait on the socket under a :class:`gevent.Timeout`:

- :func:`read_body` buffers a plain answer up to ``cap`` bytes, so Locust's ``content`` (which
  decompresses) reads it from the buffer;
- :func:`read_lines` gives a stream's lines as they arrive, each with its arrival time, until
  the answer ends, the idle limit passes with no data, or the total passes ``cap``.

Either raises :class:`Cut` with the reason and outcome when the answer is not read whole:
``timeout`` for the deadline and a stall, ``error`` for the size cap, a reset and a truncation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from gevent import Timeout
from geventhttpclient._parser import HTTPParseError
from geventhttpclient.response import HTTPConnectionClosed

from agentload.apis.verdicts import Outcome

_BROKEN = (OSError, HTTPParseError, HTTPConnectionClosed)


class Cut(Exception):
    """An answer not read whole: why (``reason``) and its ``outcome``."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome: Outcome = outcome
        self.reason = reason


class Limits:
    """The limits of one call: its deadline (a started :class:`gevent.Timeout`), the idle limit
    of a stream in seconds, and the size cap in bytes."""

    def __init__(self, deadline: Timeout, deadline_s: float, idle_s: float, cap: int) -> None:
        self.deadline = deadline
        self.deadline_s = deadline_s
        self.idle_s = idle_s
        self.cap = cap
        self._idle: Timeout | None = None  # made at the first wait (a small answer needs none)

    def cut_by(self, exc: BaseException) -> Cut | None:
        """The :class:`Cut` for a timeout of ours (None for anyone else's)."""
        if exc is self.deadline:
            return Cut("timeout", f"deadline: not done within timeout_s ({self.deadline_s:g}s)")
        if exc is self._idle and exc is not None:
            return Cut("timeout", f"stalled: no data for idle_timeout_s ({self.idle_s:g}s)")
        return None

    def receive(self, raw: Any) -> bool:
        """Wait for the next bytes of ``raw`` and feed them to its parser (False at the end)."""
        sock = raw._sock
        if sock is None:
            return False
        if self._idle is None:
            self._idle = Timeout(self.idle_s)
        self._idle.start()
        try:
            data = sock.recv(raw.block_size)
        finally:
            self._idle.cancel()
        if not data:
            raw.feed(b"")  # the end of the connection: the parser says whether it was due
            return False
        raw.feed(data)
        return True


def read_body(raw: Any, limits: Limits) -> None:
    """Buffer the whole body of a plain answer, within the limits (:class:`Cut` otherwise)."""
    if raw.message_complete:
        return  # it came with the headers
    with _named(raw, limits):
        while not raw.message_complete:
            if len(raw._body_buffer) > limits.cap:
                raise _too_large(limits.cap)
            if not limits.receive(raw) and not raw.message_complete:
                raise Cut("error", "body truncated: the connection closed before its end")


def read_lines(
    raw: Any, limits: Limits, now: Callable[[], float] = time.perf_counter
) -> Iterator[tuple[bytes, float]]:
    """A stream's lines (with their ``\\n``) and when each arrived (:class:`Cut` otherwise):
    the lines of one read share its time, taken when the read returned (not after the
    earlier lines of the read were handled)."""
    total = 0
    with _named(raw, limits):
        buffer = raw._body_buffer
        arrived = now()  # the bytes that came with the headers
        while True:
            end = buffer.rfind(b"\n")
            if end >= 0:  # every whole line of the buffer at once
                block = bytes(buffer[: end + 1])
                del buffer[: end + 1]
                total += len(block)
                if total > limits.cap:
                    raise _too_large(limits.cap)
                lines = block.split(b"\n")
                for line in lines[:-1]:
                    yield line + b"\n", arrived
                continue
            if len(buffer) + total > limits.cap:
                raise _too_large(limits.cap)
            if raw.message_complete or not limits.receive(raw):
                if not raw.message_complete:
                    raise Cut("error", "stream truncated: the connection closed before its end")
                if buffer:
                    rest = bytes(buffer)
                    del buffer[:]
                    yield rest, now()
                return
            arrived = now()


def _too_large(cap: int) -> Cut:
    return Cut("error", f"answer over max_body_bytes ({cap:,} bytes): not read further")


@contextmanager
def _named(raw: Any, limits: Limits) -> Iterator[None]:
    """Turns what can end a read into a :class:`Cut`; releases the connection if cut."""
    try:
        yield
    except Cut:
        raw.release()  # a connection with unread bytes is not reused
        raise
    except Timeout as exc:
        cut = limits.cut_by(exc)
        if cut is None:
            raise  # someone else's timeout
        raw.release()
        raise cut from None
    except ConnectionResetError:
        raw.release()
        raise Cut("error", "connection reset mid-body") from None
    except _BROKEN as exc:
        raw.release()
        raise Cut("error", f"body truncated: {type(exc).__name__}") from None
