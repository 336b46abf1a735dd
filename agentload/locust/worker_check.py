"""A remote worker's side of the plan check (see :mod:`agentload.locust.remote`): say hello, get
the master's plan, resolve the same one here, then join or refuse."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from typing import Any

import gevent

from agentload.errors import ConfigError
from agentload.locust import send_window
from agentload.locust.plan_digest import plan_digest, refusal, scenario_config_file, write_json
from agentload.locust.settings import load_settings, use_settings


def _identity(environment: Any, options: Any) -> dict[str, Any]:
    """Who this worker is: the id and PID `agentload worker` gave it, else its own."""
    host = socket.gethostname()
    pid = int(getattr(options, "agentload_worker_pid", 0) or os.getpid())
    worker_id = getattr(options, "agentload_worker_id", "") or f"{host}-{pid}"
    return {"id": worker_id, "host": host, "pid": pid, "locust_id": environment.runner.client_id}


class WorkerCheck:
    """The worker's side: ask for the plan, resolve the same one here, join or refuse."""

    def __init__(self, environment: Any, options: Any, state_path: Path | None) -> None:
        self.env, self.options, self.state_path = environment, options, state_path
        self.who = _identity(environment, options)
        runner = environment.runner
        runner.register_message("agentload_plan", self._on_plan)
        runner.send_message("agentload_hello", self.who)

    def _state(self, data: dict[str, Any]) -> None:
        if self.state_path is not None:
            write_json(self.state_path, data)

    def _on_plan(self, environment: Any, msg: Any, **_kw: Any) -> None:
        master = dict(msg.data)
        if master.get("closing"):  # a master that is ending: wait for the next one
            self._state({"status": "closing"})
            gevent.spawn_later(0.1, environment.runner.quit)
            return
        try:
            options, names = self._resolved_options(master)
            settings = load_settings(options, master.get("open_shape"))
            scenario = scenario_config_file(options.scenario_config)
            mine = plan_digest(settings.plan.path, scenario, options.model, options.agentload_phase)
            reason = refusal(mine, master, names)
        except ConfigError as exc:
            reason = str(exc)
        if reason is not None:
            self._refuse(reason)
            return
        use_settings(settings, master.get("slo") or "")
        send_window.WINDOW.configure(master.get("window"))  # before the test starts and opens it
        self._state({"status": "joined", "last": bool(master.get("last")), **self.who})
        environment.runner.send_message("agentload_joined", {**self.who, "digest": mine["digest"]})

    def _resolved_options(
        self, master: dict[str, Any]
    ) -> tuple[argparse.Namespace, dict[str, str]]:
        """This worker's options, the master's where the worker was given none (the phase is
        always the master's; the description never, the user classes were made from it)."""
        options = argparse.Namespace(**vars(self.options))
        mine = getattr(options, "scenario_config", "") or ""
        theirs = master.get("scenario_config") or ""
        if not mine and theirs:
            mine = theirs if Path(theirs).is_file() else Path(theirs).stem
        options.scenario_config = mine
        options.model = getattr(options, "model", "") or master.get("model") or ""
        options.agentload_phase = master.get("phase") or ""
        options.agentload_vars = master.get("vars") or ""  # the master's, like the phase
        names = {
            "description": f"this worker: {getattr(options, 'api', '') or 'default'}, "
            f"master: {master.get('description')}",
            "scenario_config": f"this worker: {mine or 'none'}, master: {theirs or 'none'}",
            "model": f"this worker: {options.model or 'none'}, master: {master.get('model')}",
            "phase": str(master.get("phase")),
        }
        return options, names

    def _refuse(self, reason: str) -> None:
        line = f"refused by this worker's plan check: {reason}"
        sys.stderr.write(f"agentload: {line}\n")
        sys.stderr.flush()
        self._state({"status": "refused", "reason": reason, **self.who})
        self.env.runner.send_message("agentload_refused", {**self.who, "reason": reason})
        self.env.process_exit_code = 2
        gevent.spawn_later(0.3, self.env.runner.quit)
