"""Locust plugin: importing it registers agentload's command-line options and event listeners.

Locustfiles import this package; it works in a local run, on a master and on its workers.
Modules: ``plugin`` (the wiring at init), ``settings`` (this process' API plan, read by the
users), ``remote``, ``worker_check``, ``plan_digest`` (remote workers' plan check), ``outcomes``
(agent outcomes across workers), ``timeline`` (timeline.jsonl, final.json), ``client_metrics``
(Prometheus exporter), ``open_model`` (arrival pacing), ``replay`` (trace replay's schedule
and fidelity), ``request_log`` (this process' part of
requests.jsonl.gz), ``users``/``calls`` (what the users do), ``record`` (the API for a user's
own locustfile: ``record_outcome``, ``record_entry``), ``window`` (the measurement window, requests
cut off at stop), ``master_quit`` (a master's quit waits for its workers' last reports),
``locust_csv`` (Locust's CSVs written from the final statistics), ``shapes/`` (the load shapes,
loaded as files).

May import: ``agentload.apis``, ``agentload.scenarios``, ``agentload.metrics``,
``agentload.results`` (the requests.jsonl.gz parts), ``agentload.stock``, the root modules,
Locust and gevent. Never the runner (``agentload.run``) or the CLI: the runner starts Locust as
processes and reads what they write.
"""

from __future__ import annotations

from typing import Any

from agentload.locust import locust_csv as locust_csv
from agentload.locust import master_quit as master_quit
from agentload.locust import plugin as plugin
from agentload.locust import request_log as request_log
from agentload.locust.hooks import listen
from agentload.locust.record import record_entry, record_outcome

__all__ = ["record_entry", "record_outcome"]


def _add_options(parser: Any, **_kw: Any) -> None:
    group = parser.add_argument_group("agentload")
    group.add_argument(
        "--agentload-out",
        default="",
        help="Folder where agentload writes timeline.jsonl and final.json (off if empty)",
    )
    group.add_argument(
        "--client-metrics-port",
        type=int,
        default=0,
        help="Serve client-side Prometheus metrics on HOST:PORT (off if 0)",
    )
    group.add_argument(
        "--client-metrics-host",
        default="127.0.0.1",
        help="Address the client-side metrics listen on (0.0.0.0 in containers)",
    )
    group.add_argument(
        "--api",
        default="",
        help="API description: a name (agent-v1, openai-chat, runs) or a TOML path",
    )
    group.add_argument(
        "--agentload-phase",
        default="",
        help="Apply the description's [phases.PHASE] table (the phase's name, e.g. smoke)",
    )
    group.add_argument(
        "--scenario-config",
        default="",
        help="Scenario config TOML: weights, think time, vars, seed (default: none)",
    )
    group.add_argument(
        "--model",
        default="",
        help="Model name for {model} in the description's templates",
    )
    group.add_argument(
        "--agentload-vars",
        default="",
        help='Template values over the description\'s vars, as JSON: {"NAME": "VALUE"}',
    )
    group.add_argument(
        "--agentload-slo",
        default="",
        help="Per-request SLOs in ms for goodput, e.g. ttft=500,tpot=50,e2e=10000 (off if empty)",
    )
    group.add_argument(
        "--agentload-requests",
        default="",
        help="Folder where this process writes its part of requests.jsonl.gz (off if empty)",
    )
    group.add_argument(
        "--agentload-requests-cap",
        default="",
        help="Lines kept in requests.jsonl.gz per run, then a seeded sample (default 200000)",
    )
    # The web UI's class picker: on at init when no class is named (plugin._choose_user_classes).


listen("init_command_line_parser", _add_options)
