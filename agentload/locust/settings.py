"""The plan of this Locust process: what its users need, resolved once at Locust's ``init``.

:mod:`agentload.locust.plugin` loads it at ``init`` (``load_settings`` then ``use_settings``);
on a remote worker :mod:`agentload.locust.remote` loads it again with the master's phase,
scenario config and model. The users read it through ``settings()`` and draw their seeded
generators from ``user_rng()``. ``api_option()`` names the API description before Locust parses
its options (the shipped locustfile makes its user classes at import).
"""

from __future__ import annotations

import json
import os
import random
import sys
from dataclasses import dataclass
from itertools import count
from typing import Any

from agentload.apis.load import DEFAULT_API, load_description
from agentload.errors import ConfigError
from agentload.locust import llm_metrics
from agentload.metrics.slo import from_option
from agentload.redaction import HOST_AUTH_ENV, basic_header
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
        """The users' socket timeout: past the longest of the running scenarios' deadlines, so
        that each call's own deadline (``timeout_s``) ends it first, and names it so."""
        return max(sc.timeout_s for sc in self.plan.active()) + 2.0


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
        variables=_variables(getattr(options, "agentload_vars", "") or ""),
    )
    open_cfg = plan.open_model
    if not open_cfg.scenario:
        open_cfg = open_cfg.model_copy(update={"scenario": plan.active()[0].name})
    open_model = resolve_plan(open_cfg, open_shape_json)
    headers = plan.auth_headers()
    credentials = os.environ.get(HOST_AUTH_ENV, "")
    if credentials and not any(name.lower() == "authorization" for name in headers):
        headers["Authorization"] = basic_header(credentials)  # --host's user-info
    return PluginSettings(plan=plan, headers=headers, open_model=open_model)


def use_settings(new: PluginSettings, slo: str) -> None:
    """Make `new` this process' settings and configure its per-request SLOs (``--agentload-slo``
    form; ConfigError): at ``init``, and on a remote worker with the plan resolved again with
    the master's phase, scenario config, model and SLOs (before any of its users starts)."""
    global _settings
    _settings = new
    llm_metrics.configure(from_option(slo))


def _variables(option: str) -> dict[str, str]:
    """``--agentload-vars`` JSON as a mapping of names to text (ConfigError otherwise)."""
    if not option:
        return {}
    try:
        given = json.loads(option)
    except ValueError:
        given = None
    if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
        raise ConfigError(f'--agentload-vars {option}: expected a JSON object {{"NAME": "VALUE"}}')
    return given
