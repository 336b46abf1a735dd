"""Template names, checked before any load: each template of a scenario may use only the names
that will have a value when it is filled. Pure.

A single call may use the dataset's fields (those every row has), the ``vars`` and the built-ins
``{model}`` and ``{unique}``; a job's ``poll``, ``poll_body`` and ``cancel.path`` also the job
id. A session's step may use, besides, ``{turn}``, ``{messages}`` and ``{history}`` (with a
``conversation``), and what the steps before it capture: the setup steps, then the earlier steps
of the turn (a job step's id too); teardown steps may use every capture. ``--var`` names must be
names the description uses. Problems raise :class:`NameProblem` with the field it is about.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agentload.apis.model import Description, Scenario
from agentload.apis.request import Call
from agentload.apis.templates import names

BUILTINS = frozenset({"model", "unique"})
SESSION_BUILTINS = frozenset({"turn"})
CONVERSATION = frozenset({"messages", "history"})


class NameProblem(ValueError):
    """A template name without a value, or a capture that can match nothing: ``field`` is the
    field path inside the description (``scenarios.chat.steps.1.path``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def call_templates(call: Call) -> dict[str, Any]:
    """The templates of one call by field name (the job's with the job id available)."""
    parts: dict[str, Any] = {
        "path": call.path,
        "query": call.query,
        "headers": call.headers,
        "body": call.body,
    }
    if call.stream is not None:
        parts["stream.body"] = call.stream.body
    return parts


def job_templates(call: Call) -> dict[str, Any]:
    """The templates of a call's job, filled with the job id bound."""
    if call.job is None:
        return {}
    parts: dict[str, Any] = {"job.poll": call.job.poll, "job.poll_body": call.job.poll_body}
    if call.job.cancel is not None:
        parts["job.cancel.path"] = call.job.cancel.path
        parts["job.cancel.body"] = call.job.cancel.body
    return parts


def check_call(call: Call, available: set[str], where: str) -> set[str]:
    """Check one call's templates against ``available``; the names it uses."""
    used: set[str] = set()
    for field, template in call_templates(call).items():
        used |= _known(names(template), available, f"{where}.{field}")
    if call.stream is not None and call.stream.body and not isinstance(call.body, dict):
        raise NameProblem(
            f"{where}.stream.body", "the body must be a table to merge the stream's body into"
        )
    if call.job is not None:
        with_id = available | {call.job.id_name}
        for field, template in job_templates(call).items():
            used |= _known(names(template), with_id, f"{where}.{field}")
    return used


def check_session(scenario: Scenario, base: set[str], where: str) -> set[str]:
    """Check every step of a session in the order it runs; the names it uses."""
    assert scenario.steps is not None
    available = set(base) | SESSION_BUILTINS
    if scenario.conversation is not None:
        available |= CONVERSATION
    used: set[str] = set()
    for group in ("setup", "steps", "teardown"):
        for index, step in enumerate(getattr(scenario, group)):
            at = f"{where}.{group}.{index}"
            used |= check_call(step, available, at)
            for name, capture in step.capture.items():
                if capture.path is not None and step.response == "none" and step.stream is None:
                    raise NameProblem(
                        f"{at}.capture.{name}",
                        'a JSON path on a step with response = "none" matches nothing, expected '
                        '{ header = "..." } or response = "json"',
                    )
                if capture.header is not None and not capture.header.strip():
                    raise NameProblem(
                        f"{at}.capture.{name}", "an empty header name matches nothing"
                    )
                if capture.path is not None and "" in capture.path.split(".") and capture.path:
                    raise NameProblem(
                        f"{at}.capture.{name}",
                        f"path {capture.path!r} has an empty step and matches nothing",
                    )
            available |= set(step.capture) | ({step.job.id_name} if step.job else set())
        if group == "setup" and scenario.conversation is not None:
            user = scenario.conversation.user
            used |= _known(names(user), available, f"{where}.conversation.user")
    return used


def _known(used: set[str], available: set[str], field: str) -> set[str]:
    unknown = sorted(used - available)
    if unknown:
        raise NameProblem(
            field,
            f"unknown template name {unknown[0]!r}, expected one of {', '.join(sorted(available))} "
            "(dataset fields, vars, captures of earlier steps, model, unique)",
        )
    return used


def described_names(description: Description) -> set[str]:
    """Every name a ``--var`` may set: the names the templates use and the ``vars`` declared."""
    found: set[str] = set()
    bound: set[str] = set()  # captured or a job's id: a run gives them their values
    for scenario in description.scenarios.values():
        found |= set(scenario.vars)
        calls = [scenario] if scenario.steps is None else [
            *scenario.setup, *scenario.steps, *scenario.teardown
        ]  # fmt: skip
        for call in calls:
            for template in [*call_templates(call).values(), *job_templates(call).values()]:
                found |= names(template)
            bound |= set(getattr(call, "capture", {})) | ({call.job.id_name} if call.job else set())
        if scenario.conversation is not None:
            found |= names(scenario.conversation.user)
    for overlay in description.phases.values():
        found |= set(overlay.vars)
    return found - bound - BUILTINS - SESSION_BUILTINS - CONVERSATION


def parse_vars(given: Mapping[str, str], description: Description) -> dict[str, Any]:
    """``--var NAME=VALUE`` values, typed like the description's default for NAME (a number,
    boolean, table or list default: VALUE is JSON). ValueError naming the option otherwise."""
    known = described_names(description)
    defaults: dict[str, Any] = {}
    for scenario in description.scenarios.values():
        defaults.update(scenario.vars)
    typed: dict[str, Any] = {}
    for name, text in given.items():
        if name not in known:
            raise ValueError(
                f"--var {name}={text}: unknown name {name!r}, expected one of "
                f"{', '.join(sorted(known)) or 'none (the description has no template names)'}"
            )
        default = defaults.get(name)
        if isinstance(default, bool | int | float | dict | list) and not isinstance(default, str):
            try:
                value = json.loads(text)
            except ValueError:
                value = None
            if type(value) is not type(default) and not (
                isinstance(default, float) and isinstance(value, int)
            ):
                kind = (
                    "true or false" if isinstance(default, bool)
                    else "a JSON object" if isinstance(default, dict)
                    else "a JSON list" if isinstance(default, list)
                    else "a number"
                )  # fmt: skip
                raise ValueError(
                    f"--var {name}={text}: expected {kind}, like its default {default!r}"
                )
            typed[name] = value
        else:
            typed[name] = text
    return typed
