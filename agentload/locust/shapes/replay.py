"""The replay shape: a pool of ``ReplayUser`` for a trace, grown while rows run late, then stop.

Use it with ``ReplayUser`` only (``agentload run replay --trace FILE`` does)::

    AGENTLOAD_SHAPE='{"trace": "/abs/trace.jsonl", "speed": 1}' \\
    locust -f locustfiles/agents.py,agentload/locust/shapes/replay.py --headless \\
        --host http://127.0.0.1:8000 ReplayUser

The plan (``AGENTLOAD_SHAPE``: ``trace``, ``speed``, ``max_duration_s``, ``max_lag_s``,
``users``, ``max_users``, ``processes``) and the schedule are :mod:`agentload.locust.replay`'s.
The pool (``users``, 0: sized from the trace) is spawned before the schedule's origin; each
second in which rows ran late it grows by half, up to ``max_users``, as the open-model shape
does. The test ends once every row is due and every user has finished its share (or, at the
latest, at the last row plus the longest call a scenario may make, bounded by
``max_duration_s``).
"""

from __future__ import annotations

from locust import LoadTestShape

from agentload.locust import open_model, replay


class ReplayShape(LoadTestShape):
    """The replay's pool until its schedule is over, grown (bounded) on late rows."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._pool = open_model.LatePool()

    def tick(self) -> tuple[int, float] | None:
        state = replay.current()
        if state is None:
            return None
        run_time = self.get_run_time()  # type: ignore[no-untyped-call]
        if run_time >= state.stop_s:
            return None
        if self._pool.users and run_time > state.end_s + 1.0:
            if self.get_current_user_count() == 0:  # type: ignore[no-untyped-call]
                return None  # every user has sent its share and its calls have ended
        users = self._pool.size(run_time, state.users, state.plan.max_users)
        return users, state.spawn_rate
