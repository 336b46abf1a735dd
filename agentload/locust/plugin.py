"""The plugin's set-up at Locust's ``init``: load the scenario config, start the recorders.

On every process (local, master, worker) the scenario config of ``--scenario-config`` is loaded
and validated before any user starts; a bad one prints one line naming the file and field to
stderr and ends Locust with exit code 2. On the master or a local runner the timeline recorder
(``--agentload-out``) and the client-side metrics exporter (``--client-metrics-port``) start.

``settings()`` gives the users the loaded :class:`PluginSettings`; ``api_key()`` the key from
``AGENT_API_KEY`` (never printed or written anywhere).
"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any, NoReturn

from agentload.errors import ConfigError
from agentload.locust import client_metrics, timeline
from agentload.locust.hooks import listen
from agentload.scenarios.arrivals import OpenModelPlan, resolve_plan
from agentload.scenarios.config import DEFAULT_CONFIG, ScenarioConfig, load_scenario_config

DEFAULT_API_KEY = "agentload-dev-key"
_ROOT = Path(__file__).resolve().parents[2]
_USER_CLASS_SCENARIO = {
    "StatusUser": "status",
    "CodegenUser": "codegen",
    "ResearchUser": "research",
}


@dataclass(frozen=True)
class PluginSettings:
    """What the users need: the scenario config and the open-model plan."""

    config: ScenarioConfig
    open_model: OpenModelPlan


_settings: PluginSettings | None = None
_user_numbers = count()


def settings() -> PluginSettings:
    """The settings loaded at ``init`` (a user cannot start before it)."""
    if _settings is None:
        raise RuntimeError("agentload.locust is not initialised: import it from the locustfile")
    return _settings


def api_key() -> str:
    """The agent API key (``AGENT_API_KEY``, default the documented local key)."""
    return os.environ.get("AGENT_API_KEY") or DEFAULT_API_KEY


def user_rng(environment: Any) -> random.Random:
    """A generator for the next user of this process: seed, worker index, user number."""
    worker_index = max(0, int(getattr(environment.runner, "worker_index", 0) or 0))
    return random.Random(f"{settings().config.seed}:{worker_index}:{next(_user_numbers)}")


def config_path(option: str) -> Path:
    """The config to load: the option, else ``scenarios/default.toml`` (cwd, then the repo)."""
    if option:
        return Path(option)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else _ROOT / DEFAULT_CONFIG


def _on_init(environment: Any, **_kw: Any) -> None:
    global _settings
    options = environment.parsed_options
    if options is None:  # a library use of Environment without the command line
        return
    path = config_path(getattr(options, "scenario_config", "") or "")
    shape = environment.shape_class
    open_shape = shape is not None and type(shape).__name__ == "OpenModelShape"
    try:
        config = load_scenario_config(path)
        plan = resolve_plan(
            config.file.open_model, os.environ.get("AGENTLOAD_SHAPE") if open_shape else None
        )
        _check_datasets(environment, config, plan)
    except ConfigError as exc:
        quiet = getattr(options, "worker", False) and getattr(options, "processes", None)
        _fail(str(exc), quiet=bool(quiet))  # once: --processes children stay quiet
    _settings = PluginSettings(config=config, open_model=plan)
    _apply_class_weights(environment, config)
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


def _fail(message: str, quiet: bool = False) -> NoReturn:
    """One line on stderr, then exit code 2 before any user starts."""
    if not quiet:
        sys.stderr.write(f"agentload: {message}\n")
        sys.stderr.flush()
    raise SystemExit(2)


def _check_datasets(environment: Any, config: ScenarioConfig, plan: OpenModelPlan) -> None:
    """Every selected user class must have the dataset its scenario draws from."""
    needed: set[str] = set()
    for user_class in environment.user_classes:
        name = user_class.__name__
        if name in _USER_CLASS_SCENARIO:
            needed.add(_USER_CLASS_SCENARIO[name])
        elif name == "MixedAgentUser":
            needed.update(s for s, w in config.weights().items() if w > 0)
        elif name == "OpenModelUser":
            needed.add(plan.scenario)
    for scenario in sorted(needed & {"codegen", "research"}):
        if getattr(config, "prompts" if scenario == "codegen" else "questions") is None:
            raise ConfigError(
                f'{config.path}: field "scenarios.{scenario}.dataset": missing, '
                f"expected a dataset for {scenario} (its user class is selected)"
            )


def _apply_class_weights(environment: Any, config: ScenarioConfig) -> None:
    """Scenario weights become the class weights of the single-scenario users (when > 0)."""
    weights = config.weights()
    for user_class in environment.user_classes:
        scenario = _USER_CLASS_SCENARIO.get(user_class.__name__)
        if scenario and weights[scenario] > 0:
            user_class.weight = max(1, round(weights[scenario]))


listen("init", _on_init)
