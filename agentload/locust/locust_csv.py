"""Locust's CSV files (``--csv``) written whole one last time as Locust shuts down.

Locust's writer rewrites ``_stats.csv``, ``_failures.csv`` and ``_exceptions.csv`` and appends to
``_stats_history.csv`` once a second, in a greenlet, and at shutdown only closes the files: what
was counted after its last pass (the requests that finished in the stop timeout or were cut off
at stop, a master's last worker reports) never reached them, so ``locust_failures.csv`` could
lag ``summary.json``. ``StatsCSVFileWriter.close_files`` is wrapped once at import so that it
writes every file from the final statistics first (the history gets one last line), then closes
them. Locust calls it last of all, after its ``quit`` event.
"""

from __future__ import annotations

from locust.stats import StatsCSVFileWriter

import functools
import time
from collections.abc import Callable
from typing import Any


def write_final(writer: Any) -> None:
    """Write ``writer``'s files from the statistics as they are now (a
    :class:`locust.stats.StatsCSVFileWriter`)."""
    for handle, write, csv_writer in (
        (writer.requests_csv_filehandle, writer.requests_csv, writer.requests_csv_writer),
        (writer.failures_csv_filehandle, writer.failures_csv, writer.failures_csv_writer),
        (writer.exceptions_csv_filehandle, writer.exceptions_csv, writer.exceptions_csv_writer),
    ):
        handle.seek(0)
        write(csv_writer)  # the header, then the rows
        handle.truncate()
    history = writer.stats_history_csv_filehandle
    if history.tell() == 0:  # Locust's writer never ran: its header first
        writer.stats_history_csv_writer.writerow(writer.stats_history_csv_columns)
    writer._stats_history_data_rows(writer.stats_history_csv_writer, time.time())


def _final_first(close: Callable[[Any], None]) -> Callable[[Any], None]:
    @functools.wraps(close)
    def close_files(writer: Any) -> None:
        try:
            write_final(writer)
        finally:
            close(writer)

    close_files.__agentload_final__ = True  # type: ignore[attr-defined]
    return close_files


if not getattr(StatsCSVFileWriter.close_files, "__agentload_final__", False):
    StatsCSVFileWriter.close_files = _final_first(  # type: ignore[method-assign,assignment]
        StatsCSVFileWriter.close_files
    )
