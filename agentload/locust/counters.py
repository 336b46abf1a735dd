"""Counters that a Locust master sums over its workers.

``DistributedCounters(key)`` holds nested counts ``{group: {name: n}}`` for this process. On a
worker, what was added since the last report rides on Locust's ``report_to_master`` message under
``key``; the master adds it up in ``worker_report``. So ``totals()`` is the cumulative count of the
whole test on the master and on a local runner (and the worker's own share on a worker).
Counts reset when a test starts, as Locust's own statistics do.

One Locust environment per process (as the ``locust`` command makes): the counts live in the
instance, not on the environment, because ``report_to_master``/``worker_report`` carry none.
"""

from __future__ import annotations

from locust.runners import WorkerRunner

from collections import defaultdict
from typing import Any

from agentload.locust.hooks import listen

Counts = dict[str, dict[str, int]]


class DistributedCounters:
    """Nested counts for one process, merged across workers on the master."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._total: defaultdict[str, defaultdict[str, int]] = _nested()
        self._pending: defaultdict[str, defaultdict[str, int]] = _nested()
        self._is_worker = False
        listen("init", self._on_init)
        listen("test_start", self._on_test_start)
        listen("report_to_master", self._on_report_to_master)
        listen("worker_report", self._on_worker_report)

    def add(self, group: str, name: str, n: int = 1) -> None:
        """Count ``n`` more ``name`` in ``group``."""
        self._total[group][name] += n
        if self._is_worker:
            self._pending[group][name] += n

    def totals(self) -> Counts:
        """A copy of the cumulative counts."""
        return {group: dict(names) for group, names in self._total.items()}

    def reset(self) -> None:
        self._total = _nested()
        self._pending = _nested()

    def _on_init(self, environment: Any, **_kw: Any) -> None:
        self._is_worker = isinstance(environment.runner, WorkerRunner)

    def _on_test_start(self, **_kw: Any) -> None:
        self.reset()

    def _on_report_to_master(self, client_id: str, data: dict[str, Any]) -> None:
        data[self.key] = {group: dict(names) for group, names in self._pending.items()}
        self._pending = _nested()

    def _on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        for group, names in (data.get(self.key) or {}).items():
            for name, n in names.items():
                self._total[group][name] += int(n)


def _nested() -> defaultdict[str, defaultdict[str, int]]:
    return defaultdict(lambda: defaultdict(int))
