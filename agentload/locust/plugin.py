"""The plugin's set-up at Locust's ``init``: resolve the API description, start the recorders.

On every process (local, master, worker) the API description (``--api``), its phase overlay
(``--agentload-phase``), the scenario config (``--scenario-config``) and ``--model`` are resolved
into an :class:`agentload.scenarios.plan.ApiPlan` before any user starts; a bad one prints one line
naming the file and field to stderr and ends Locust with exit code 2. On the master or a local
runner the timeline recorder (``--agentload-out``) and the client-side metrics exporter
(``--client-metrics-port``) start. With remote workers, :mod:`agentload.locust.remote` checks that
each worker resolved the master's plan (a digest) and resolves it again there with the master's
phase.

``settings()`` gives the users the loaded :class:`PluginSettings`. A user's own locustfile
needs no description (its classes record through :mod:`agentload.locust.record`); the default
description is still resolved, and unused.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any, NoReturn

from agentload.apis.load import DEFAULT_API, load_description
from agentload.errors import ConfigError
from agentload.locust import client_metrics, llm_metrics, remote, timeline
from agentload.locust.hooks import listen
from agentload.metrics.slo import from_option
from agentload.scenarios.arrivals import OpenModelPlan, resolve_plan
from agentload.scenarios.config import load_scenario_config
from agentload.scenarios.plan import ApiPlan, resolve
from agentload.stock.lookup import find

API_ENV = "AGENTLOAD_API"


@dataclass(frozen=True)
class PluginSettings:
    """What the users need: the resolved API plan, its request headers, the open-model plan."""

    plan: ApiPlan
    headers: dict[str, str]
    open_model: OpenModelPlan

    @property
    def network_timeout(self) -> float:
        """The users' network timeout: the longest of the running scenarios'."""
        return max(sc.timeout_s for sc in self.plan.active())


_settings: PluginSettings | None = None
_user_numbers = count()


def settings() -> PluginSettings:
    """The settings loaded at ``init`` (a user cannot start before it)."""
    if _settings is None:
        raise RuntimeError("agentload.locust is not initialised: import it from the locustfile")
    return _settings


def api_option(argv: list[str] | None = None) -> str:
    """The description to load, known before Locust parses its options (user classes are made
    at import): ``AGENTLOAD_API``, else ``--api X`` / ``--api=X`` in argv, else the default."""
    if os.environ.get(API_ENV):
        return os.environ[API_ENV]
    args = sys.argv if argv is None else argv
    for i, arg in enumerate(args):
        if arg == "--api" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--api="):
            return arg.split("=", 1)[1]
    return DEFAULT_API


def user_rng(environment: Any) -> random.Random:
    """A generator for the next user of this process: seed, worker index, user number."""
    worker_index = max(0, int(getattr(environment.runner, "worker_index", 0) or 0))
    return random.Random(f"{settings().plan.seed}:{worker_index}:{next(_user_numbers)}")


def load_settings(options: Any, open_shape_json: str | None) -> PluginSettings:
    """Resolve everything the users need from Locust's parsed options (ConfigError)."""
    description, path = load_description(getattr(options, "api", "") or api_option())
    config_option = getattr(options, "scenario_config", "") or ""
    scenario_config = (
        load_scenario_config(find("scenarios", config_option)) if config_option else None
    )
    plan = resolve(
        description,
        path,
        phase=getattr(options, "agentload_phase", "") or None,
        scenario_config=scenario_config,
        model=getattr(options, "model", "") or None,
    )
    open_cfg = plan.open_model
    if not open_cfg.scenario:
        open_cfg = open_cfg.model_copy(update={"scenario": plan.active()[0].name})
    open_model = resolve_plan(open_cfg, open_shape_json)
    return PluginSettings(plan=plan, headers=plan.auth_headers(), open_model=open_model)


def _on_init(environment: Any, **_kw: Any) -> None:
    global _settings
    options = environment.parsed_options
    if options is None:  # a library use of Environment without the command line
        return
    shape = environment.shape_class
    open_shape = shape is not None and type(shape).__name__ == "OpenModelShape"
    try:
        _settings = load_settings(
            options, os.environ.get("AGENTLOAD_SHAPE") if open_shape else None
        )
    except ConfigError as exc:
        quiet = getattr(options, "worker", False) and getattr(options, "processes", None)
        _fail(str(exc), quiet=bool(quiet))  # once: --processes children stay quiet
    try:
        llm_metrics.configure(from_option(getattr(options, "agentload_slo", "") or ""))
    except ConfigError as exc:
        _fail(str(exc))
    _apply_class_weights(environment, _settings.plan)
    remote.install(environment, options, _settings)  # remote workers' plan check
    if getattr(options, "worker", False):
        return
    if options.agentload_out:
        timeline.install(environment, Path(options.agentload_out))
    if options.client_metrics_port:
        port = int(options.client_metrics_port)
        host = str(options.client_metrics_host)
        try:
            client_metrics.serve(environment, port, host)
        except OSError as exc:
            _fail(f"--client-metrics-port {port}: cannot listen on {host}:{port} ({exc})")


def use_settings(new: PluginSettings, slo: str) -> None:
    """A remote worker's plan, resolved again with the master's phase, scenario config, model
    and SLOs (before any of its users starts)."""
    global _settings
    _settings = new
    llm_metrics.configure(from_option(slo))


@contextmanager
def exit_on_config_error() -> Iterator[None]:
    """At a locustfile's import: a ConfigError becomes one line on stderr and exit code 2."""
    try:
        yield
    except ConfigError as exc:
        _fail(str(exc))


def _fail(message: str, quiet: bool = False) -> NoReturn:
    """One line on stderr, then exit code 2 before any user starts."""
    if not quiet:
        sys.stderr.write(f"agentload: {message}\n")
        sys.stderr.flush()
    raise SystemExit(2)


def _apply_class_weights(environment: Any, plan: ApiPlan) -> None:
    """Scenario weights become the class weights of the one-scenario users (when > 0)."""
    weights = plan.weights()
    for user_class in environment.user_classes:
        scenario = getattr(user_class, "agentload_scenario", None)
        if scenario in weights and weights[scenario] > 0:
            user_class.weight = max(1, round(weights[scenario]))


listen("init", _on_init)
