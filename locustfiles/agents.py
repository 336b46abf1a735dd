"""agentload's Locust users for an API description (``--api NAME|PATH``, default agent-v1).

    locust -f "$(agentload locustfile)" --host http://127.0.0.1:8000 --api agent-v1   # web UI
    locust -f "$(agentload locustfile)" --headless -u 10 -r 5 -t 1m \\
        --host http://127.0.0.1:8000 --api openai-chat --model my-model MixedAgentUser

- ``MixedAgentUser``: every scenario of the description, drawn by weight.
- ``OpenModelUser``: arrival-scheduled calls, latency from the intended start (pair it with the
  open-model shape); it starts only when named or with that shape.
- ``ReplayUser``: a trace's rows, each one call at its time (pair it with the replay shape,
  ``agentload run replay --trace FILE``); it starts only when named.
- one ``<Scenario>User`` per scenario (``StatusUser``, ``ChatUser``, ...).

With no class named, the others start (in the web UI: ticked in its class picker); named
classes run as named.

Weights, think time, datasets and seed come from the description, its ``[phases.PHASE]``
(``--agentload-phase``) and ``--scenario-config``; the secret from the variable the description
names.
"""

import agentload.locust  # noqa: F401  (registers the plugin's options and listeners)
from agentload.apis.load import load_description
from agentload.locust.plugin import exit_on_config_error
from agentload.locust.settings import api_option
from agentload.locust.users import MixedAgentUser, OpenModelUser, ReplayUser, scenario_users

with exit_on_config_error():
    _description, _ = load_description(api_option())
_scenario_users = scenario_users(list(_description.scenarios))
globals().update(_scenario_users)

__all__ = ["MixedAgentUser", "OpenModelUser", "ReplayUser", *_scenario_users]
