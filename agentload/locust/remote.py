"""Remote workers (``agentload run --expect-workers N``, ``agentload worker``): the plan check.
This module is the master's side and the wiring; the worker's side is
:mod:`agentload.locust.worker_check`, the digest :mod:`agentload.locust.plan_digest`.

Locust's own protocol carries the load; three custom messages carry agentload's check on top:

    worker                                master (--agentload-workers FILE)
      | -- agentload_hello {id, host, pid} -->  |
      | <-- agentload_plan {digest, parts,  --  |  phase, description, scenario config, model,
      |      phase, ..., last, closing}         |  SLOs, the open-model shape and the send window
      | -- agentload_joined | agentload_refused |  the worker's own digest of the same plan
                                                v
                                         FILE: {"joined", "refused", "lost"} (read by the runner)

The worker sends its hello once its listener is registered (a plan sent at Locust's ``ack``
could arrive first). The digest is :func:`agentload.locust.plan_digest.plan_digest`: SHA-256
over the description's bytes, the scenario config's bytes, the model and the phase. A worker
with another one logs one line naming both and exits 2 (``agentload worker`` says why); the
master records it and quits, so no mixed figures are produced. Before users spawn, the master's
``test_start`` waits (bounded) for every connected worker's answer. A joined worker that goes
missing (heartbeats) or quits while the test runs is written under ``lost``. ``last`` tells the
worker whether another Locust run of the phase follows (``agentload worker`` then starts a new
Locust worker for it); ``closing`` that this master is already ending (a worker that reached it
late reconnects to the next one).
`agentload worker` (:mod:`agentload.run.remote_worker`) gives the Locust worker it starts its
state file (``--agentload-worker-state``: joined, refused or closing) and its identity
(``--agentload-worker-id``, ``--agentload-worker-pid``); this module imports nothing of it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import gevent

from agentload.locust import send_window
from agentload.locust.hooks import listen
from agentload.locust.plan_digest import plan_digest, scenario_config_file, write_json
from agentload.locust.settings import PluginSettings
from agentload.locust.worker_check import WorkerCheck

ANSWER_WAIT_S = 10.0
MISSING = "missing"


class MasterCheck:
    """The master's side: answers hellos with the plan, records joins, refusals and losses."""

    def __init__(self, environment: Any, path: Path, plan: dict[str, Any]) -> None:
        self.env, self.path, self.plan = environment, path, plan
        self.joined: dict[str, dict[str, Any]] = {}  # Locust client id -> identity
        self.refused: list[dict[str, Any]] = []
        self.lost: list[dict[str, Any]] = []
        self.ending = False
        runner = environment.runner
        runner.register_message("agentload_hello", self._on_hello)
        runner.register_message("agentload_joined", self._on_joined)
        runner.register_message("agentload_refused", self._on_refused)
        environment.events.test_start.add_listener(self._on_test_start)
        environment.events.test_stop.add_listener(self._on_end)
        environment.events.quitting.add_listener(self._on_end)
        self._write()
        gevent.spawn(self._watch)

    def _write(self) -> None:
        data = {
            "joined": list(self.joined.values()),
            "refused": self.refused,
            "lost": self.lost,
            "ending": self.ending,
        }
        write_json(self.path, data)

    def _on_hello(self, environment: Any, msg: Any, **_kw: Any) -> None:
        plan = {**self.plan, "closing": self.ending}
        environment.runner.send_message("agentload_plan", plan, client_id=msg.node_id)

    def _on_joined(self, environment: Any, msg: Any, **_kw: Any) -> None:
        self.joined[msg.node_id] = dict(msg.data)
        self._write()

    def _on_refused(self, environment: Any, msg: Any, **_kw: Any) -> None:
        self.refused.append(dict(msg.data))
        self._write()
        sys.stderr.write(f"agentload: worker {msg.data.get('id')} refused: {msg.data['reason']}\n")
        environment.process_exit_code = 2
        gevent.spawn_later(0.2, environment.runner.quit)

    def _on_test_start(self, environment: Any, **_kw: Any) -> None:
        """No user spawns before every connected worker has answered (bounded)."""
        deadline = time.monotonic() + ANSWER_WAIT_S
        while time.monotonic() < deadline:
            answered = set(self.joined) | {r.get("locust_id") for r in self.refused}
            if set(environment.runner.clients) <= answered:
                break
            gevent.sleep(0.1)

    def _on_end(self, **_kw: Any) -> None:
        self.ending = True
        self._write()

    def _watch(self) -> None:
        """A joined worker that went missing or left while the test runs is lost."""
        from locust.runners import STATE_MISSING

        gone: set[str] = set()
        while True:
            gevent.sleep(0.5)
            if self.ending:
                continue
            clients = self.env.runner.clients
            for locust_id, who in self.joined.items():
                node = clients.get(locust_id)
                state = "quit" if node is None else MISSING if node.state == STATE_MISSING else ""
                if state and locust_id not in gone:
                    gone.add(locust_id)
                    self.lost.append({**who, "state": state, "at": time.time()})
                    self._write()


def master_plan(environment: Any, options: Any, settings: PluginSettings) -> dict[str, Any]:
    """What the master sends: its digest and how to resolve the same plan elsewhere."""
    scenario = scenario_config_file(getattr(options, "scenario_config", "") or "")
    phase = getattr(options, "agentload_phase", "") or ""
    model = getattr(options, "model", "") or ""
    shape = environment.shape_class
    open_shape = shape is not None and type(shape).__name__ == "OpenModelShape"
    return {
        **plan_digest(settings.plan.path, scenario, model, phase),
        "description": str(settings.plan.path),
        "scenario_config": str(scenario) if scenario else "",
        "model": model,
        "vars": getattr(options, "agentload_vars", "") or "",
        "phase": phase,
        "slo": getattr(options, "agentload_slo", "") or "",
        "open_shape": os.environ.get("AGENTLOAD_SHAPE") if open_shape else None,
        "window": os.environ.get(send_window.ENV),  # --warmup/--cooldown, as local workers get it
        "last": bool(getattr(options, "agentload_last_run", False)),
    }


def install(environment: Any, options: Any, settings: PluginSettings) -> None:
    """At ``init``: the master's check with ``--agentload-workers``, the worker's always."""
    if getattr(options, "worker", False):
        state = getattr(options, "agentload_worker_state", "") or ""
        WorkerCheck(environment, options, Path(state) if state else None)
    elif getattr(options, "master", False) and getattr(options, "agentload_workers", ""):
        plan = master_plan(environment, options, settings)
        MasterCheck(environment, Path(options.agentload_workers), plan)


def _add_options(parser: Any, **_kw: Any) -> None:
    group = parser.add_argument_group("agentload remote workers")
    group.add_argument(
        "--agentload-workers",
        default="",
        help="Master: check remote workers' plans and write who joined, was refused or lost here",
    )
    group.add_argument(
        "--agentload-last-run",
        action="store_true",
        default=False,
        help="Master: no other Locust run of the phase follows (the workers then exit)",
    )
    # Given by `agentload worker` to the Locust worker it starts; read once, at init (a master
    # sends its own options to its workers with each spawn, over the worker's).
    group.add_argument(
        "--agentload-worker-state",
        default="",
        help="Worker: write joined, refused or closing (JSON) to this file",
    )
    group.add_argument(
        "--agentload-worker-id",
        default="",
        help="Worker: the id it gives the master (default: <host>-<pid>)",
    )
    group.add_argument(
        "--agentload-worker-pid",
        type=int,
        default=0,
        help="Worker: the PID it gives the master (default: its own)",
    )


listen("init_command_line_parser", _add_options)
