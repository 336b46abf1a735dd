"""The plugin's wiring at Locust's ``init``: resolve the API plan, start the recorders.

On every process (local, master, worker) the API description (``--api``), its phase overlay
(``--agentload-phase``), the scenario config (``--scenario-config``) and ``--model`` are resolved
into an :class:`agentload.scenarios.plan.ApiPlan` before any user starts, and kept as this
process' settings (:mod:`agentload.locust.settings`); a bad one prints one line naming the file
and field to stderr and ends Locust with exit code 2. The scenarios' weights become the class
weights of the one-scenario users. On the master or a local runner the user classes that start
are chosen (:func:`_choose_user_classes`: the named ones, as named, the web UI included; else
the closed-model users, offered in the web UI's class picker; ``OpenModelUser`` only when named
or with the open-model shape), and the timeline recorder (``--agentload-out``) and the
client-side metrics exporter (``--client-metrics-port``) start.
With remote workers, :mod:`agentload.locust.remote` checks that each worker resolved the
master's plan (a digest) and resolves it again there with the master's phase.

A user's own locustfile needs no description (its classes record through
:mod:`agentload.locust.record`); the default description is still resolved, and unused.
``exit_on_config_error()`` gives a locustfile's import the same one-line error and exit code 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from agentload.errors import ConfigError
from agentload.locust import client_metrics, remote, timeline
from agentload.locust.hooks import listen
from agentload.locust.settings import load_settings, use_settings
from agentload.scenarios.plan import ApiPlan


def _on_init(environment: Any, **_kw: Any) -> None:
    options = environment.parsed_options
    if options is None:  # a library use of Environment without the command line
        return
    shape = environment.shape_class
    open_shape = shape is not None and type(shape).__name__ == "OpenModelShape"
    try:
        loaded = load_settings(options, os.environ.get("AGENTLOAD_SHAPE") if open_shape else None)
    except ConfigError as exc:
        quiet = getattr(options, "worker", False) and getattr(options, "processes", None)
        _fail(str(exc), quiet=bool(quiet))  # once: --processes children stay quiet
    try:
        use_settings(loaded, getattr(options, "agentload_slo", "") or "")
    except ConfigError as exc:
        _fail(str(exc))
    _apply_class_weights(environment, loaded.plan)
    remote.install(environment, options, loaded)  # remote workers' plan check
    if getattr(options, "worker", False):
        return  # a worker spawns the classes its master sends
    _choose_user_classes(environment, options, open_shape)
    if options.agentload_out:
        timeline.install(environment, Path(options.agentload_out))
    if options.client_metrics_port:
        port = int(options.client_metrics_port)
        host = str(options.client_metrics_host)
        try:
            client_metrics.serve(environment, port, host)
        except OSError as exc:
            _fail(f"--client-metrics-port {port}: cannot listen on {host}:{port} ({exc})")


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


def _choose_user_classes(environment: Any, options: Any, open_shape: bool) -> None:
    """Which user classes the run starts, in the web UI as headless (master or local runner).

    Classes named on the command line run as named; the runner names the phase's (the profile's
    ``user_classes``), and in the web UI they run with the phase's shape: Locust's class picker,
    which would start every class it lists (all ticked at first) and drop the shape, stays off
    unless ``--class-picker`` asks for it. With none named (plain ``locust -f locustfiles/``),
    every class runs but ``OpenModelUser``, kept for the open-model shape (a closed-loop run
    never mixes in the open model), and, with no shape to drop, the web UI offers them in its
    class picker.
    """
    if getattr(options, "user_classes", None):
        return
    if not open_shape:
        closed = [c for c in environment.user_classes if not _open_model(c)]
        if closed:
            environment.user_classes = closed
        available = environment.available_user_classes or {}
        environment.available_user_classes = {
            name: c for name, c in available.items() if not _open_model(c)
        } or available
        tasks = environment.available_user_tasks or {}
        environment.available_user_tasks = {
            name: t for name, t in tasks.items() if name in environment.available_user_classes
        } or None
    if environment.web_ui is not None and environment.shape_class is None:
        environment.web_ui.userclass_picker_is_active = True
        options.class_picker = True


def _open_model(user_class: type) -> bool:
    return bool(getattr(user_class, "agentload_open_model", False))


listen("init", _on_init)
