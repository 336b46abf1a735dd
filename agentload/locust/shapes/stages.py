"""A declarative stage table: hold each stage's users for its duration, then stop.

``AGENTLOAD_SHAPE`` = ``{"stages": [{"duration": 30, "users": 10, "spawn_rate": 5}, ...]}`` where
``duration`` is the stage's own length in seconds (stages follow each other).
"""

from __future__ import annotations

from locust import LoadTestShape

import json
import os
from typing import Any


def _stages() -> list[dict[str, Any]]:
    table = json.loads(os.environ.get("AGENTLOAD_SHAPE") or "{}")
    stages = table.get("stages") or [{"duration": 60, "users": 1, "spawn_rate": 1}]
    end = 0.0
    out = []
    for stage in stages:
        end += float(stage["duration"])
        users, rate = int(stage["users"]), float(stage["spawn_rate"])
        out.append({"end": end, "users": users, "spawn_rate": rate})
    return out


class StagesShape(LoadTestShape):
    """Users per stage from the runner's table; ends after the last stage."""

    stages = _stages()

    def tick(self) -> tuple[int, float] | None:
        run_time = self.get_run_time()  # type: ignore[no-untyped-call]
        for stage in self.stages:
            if run_time < stage["end"]:
                return stage["users"], stage["spawn_rate"]
        return None
