"""A session of steps as a description says: setup, ``turns`` times the steps, teardown. Generic.

``run_session(user, scenario, started)`` runs one session and returns its
:class:`~agentload.locust.calls.Answered` (one verdict for the whole session). Each step is a
call (:func:`~agentload.locust.calls.send_call`): its ``capture`` table takes values from the
answer (a JSON path of what the checks judged, or a response header) for the steps after it; a
job step's id is kept under its name too. The first step not judged ok ends the session with
its reason (``turn 2 step 1 'run': HTTP 404``); a capture that finds nothing fails its step.
The teardown runs in any case, each step whose names all have a value; a session cut off by
the run's end is torn down by the user's ``on_stop`` (:func:`tear_down`). A new dataset row
fills each turn (``{turn}`` is its number); with a ``conversation``, ``{messages}`` and
``{history}`` carry the earlier turns' messages and replies. ``TTC <scenario>`` times the
session from its start to the end of its teardown.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import gevent

from agentload.apis import jsonpath
from agentload.apis.model import Capture, Step
from agentload.apis.templates import fill, names
from agentload.apis.verdicts import SUCCESS, Verdict
from agentload.locust.calls import Answered, send_call
from agentload.locust.entries import fire
from agentload.scenarios.names import call_templates, job_templates
from agentload.scenarios.plan import RunScenario

#: The attribute of a user that holds its session in progress (for ``on_stop``).
OPEN = "agentload_session"


@dataclass
class Session:
    """One session in progress: its scenario, template values (captures included) and chat."""

    scenario: RunScenario
    values: dict[str, Any]
    captured: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, str]] = field(default_factory=list)
    last_answer: Any = None

    def turn_values(self, row: dict[str, Any], turn: int) -> None:
        """A new turn: its dataset row and tags, the captures kept."""
        self.values = {**row, **self.captured, "turn": turn}


def run_session(user: Any, sc: RunScenario, started: float) -> Answered:
    """One session of ``sc`` (see the module docstring)."""
    spec = sc.spec
    assert spec.steps is not None
    session = Session(sc, {})
    session.turn_values(sc.values(user.rng, user.plan.model), 1)
    setattr(user, OPEN, session)
    verdict = _group(user, session, "setup", spec.setup, None)
    for turn in range(1, spec.turns + 1):
        if not verdict.ok:
            break
        if turn > 1:
            think = sc.think_time
            gevent.sleep(user.rng.uniform(think.min_s, think.max_s))
            session.turn_values(sc.values(user.rng, user.plan.model), turn)
        verdict = _turn(user, session, turn)
    ended = tear_down(user, session)
    if verdict.ok and not ended.ok:
        verdict = ended
    fire(user, "TTC", sc.name, (time.perf_counter() - started) * 1000, verdict.reason)
    return Answered(verdict)


def tear_down(user: Any, session: Session) -> Verdict:
    """Run the teardown steps whose template names all have a value; the first failure."""
    if getattr(user, OPEN, None) is session:
        setattr(user, OPEN, None)
    verdict = SUCCESS
    for number, step in enumerate(session.scenario.spec.teardown, 1):
        if _needs(step) - set(session.values):
            continue  # what it would end was never made (a setup step failed)
        outcome = _step(user, session, step, _label("teardown", number, step, None))
        if verdict.ok and not outcome.ok:
            verdict = outcome
    return verdict


def _turn(user: Any, session: Session, turn: int) -> Verdict:
    spec = session.scenario.spec
    assert spec.steps is not None
    chat = spec.conversation
    user_text = ""
    if chat is not None:
        user_text = str(fill(chat.user, session.values))
        session.values["history"] = list(session.history)
        session.values["messages"] = [*session.history, {"role": "user", "content": user_text}]
    shown_turn = turn if spec.turns > 1 else None
    verdict = _group(user, session, "step", spec.steps, shown_turn)
    if chat is None or not verdict.ok:
        return verdict
    reply = jsonpath.get(session.last_answer, chat.answer)
    if not isinstance(reply, str):
        last = _label("step", len(spec.steps), spec.steps[-1], shown_turn)
        return Verdict("error", f"{last}: conversation answer {chat.answer!r} found nothing")
    session.history += [
        {"role": "user", "content": user_text},
        {"role": "assistant", "content": reply},
    ]
    return verdict


def _group(user: Any, session: Session, kind: str, steps: list[Step], turn: int | None) -> Verdict:
    for number, step in enumerate(steps, 1):
        verdict = _step(user, session, step, _label(kind, number, step, turn))
        if not verdict.ok:
            return verdict
    return SUCCESS


def _step(user: Any, session: Session, step: Step, label: str) -> Verdict:
    """One step: the call, then its captures; a verdict named by ``label`` unless ok."""
    stream = step.stream is not None and user.rng.random() < step.stream.share
    name = session.scenario.name
    done = send_call(user, name, step, session.values, None, stream)
    if not done.verdict.ok:
        return Verdict(done.verdict.outcome, f"{label}: {done.verdict.reason}")
    session.last_answer = done.answer
    for var, capture in step.capture.items():
        value = _captured(done, capture)
        if value is None:
            return Verdict(
                "error", f"{label}: capture {var!r} found nothing ({capture.describe()})"
            )
        session.captured[var] = session.values[var] = value
    if step.job is not None and done.job_id is not None:
        session.captured[step.job.id_name] = session.values[step.job.id_name] = done.job_id
    return SUCCESS


def _captured(done: Answered, capture: Capture) -> Any:
    """The value a capture finds in an answer, or None."""
    if capture.header is not None:
        value = done.headers.get(capture.header) if done.headers is not None else None
        return value or None
    value = jsonpath.get(done.answer, capture.path or "")
    return None if value is jsonpath.MISSING else value


def _label(kind: str, number: int, step: Step, turn: int | None) -> str:
    """``turn 2 step 1 'run'``, ``setup 1``: where in the session a step is."""
    where = f"turn {turn} {kind} {number}" if turn is not None else f"{kind} {number}"
    return f"{where} {step.name!r}" if step.name else where


def _needs(step: Step) -> set[str]:
    """The template names a step fills (its job's id excluded)."""
    used: set[str] = set()
    for template in call_templates(step).values():
        used |= names(template)
    for template in job_templates(step).values():
        used |= names(template)
    return used - ({step.job.id_name} if step.job else set())
