"""The runner's own writes that must not end in a traceback on a full disk: runner.log, and the
files its writer threads keep (resources.jsonl). Each keeps the first failure as one line in
``error``; the run stops on it and says it.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType


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
