"""One request of a description sent and its answer read: the URL, the arguments, the verdict.

``url_of`` and ``send_args`` fill a call's templates; ``read_json`` reads an answer's JSON (an
answer sent as server-sent events, ``text/event-stream``, is its last event's data, as MCP's
streamable HTTP may answer a POST); ``judge_answer`` gives the verdict (marking the Locust entry
failed where it must) and the JSON the checks judged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from agentload.apis.judges import judge
from agentload.apis.request import Call
from agentload.apis.sse import BAD, last_event_data
from agentload.apis.templates import fill
from agentload.apis.verdicts import SUCCESS, Verdict
from agentload.locust.entries import failure_verdict
from agentload.redaction import redact


def url_of(call: Call, values: dict[str, Any]) -> str:
    """The call's path and query, filled."""
    url = str(fill(call.path, values))
    if call.query:
        url += ("&" if "?" in url else "?") + urlencode(fill(call.query, values), doseq=True)
    return url


def send_args(call: Call, values: dict[str, Any], base: Mapping[str, str]) -> dict[str, Any]:
    """Locust's request arguments: the entry's name (the path template, or ``entry_name``),
    headers (``base``, the description's, then the call's) and JSON body. The headers go with
    each request, so that they win over Locust's own (``Accept: application/json`` with a JSON
    body)."""
    args: dict[str, Any] = {"name": call.entry_name or call.path, "catch_response": True}
    if call.headers:
        filled = {k: str(v) for k, v in fill(call.headers, values).items()}
        args["headers"] = {**base, **filled}
    elif base and call.body is not None:  # (without a body, the user's default headers do)
        args["headers"] = dict(base)
    if call.body is not None:
        args["json"] = fill(call.body, values)
    return args


def content_type(resp: Any) -> str:
    """The answer's ``Content-Type`` ("" when it has none)."""
    return str((resp.headers or {}).get("Content-Type") or "")


def read_json(resp: Any) -> Any:
    """The answer's JSON value, or :data:`~agentload.apis.sse.BAD`."""
    try:
        if content_type(resp).startswith("text/event-stream"):
            return last_event_data(resp.text or "")
        return json.loads(resp.content)  # JSON is UTF-8 (or -16/-32, which loads detects)
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError):
        return BAD


def judge_answer(resp: Any, call: Call, checks: bool = True) -> tuple[Verdict, Any]:
    """The verdict on a plain answer (marking the entry failed where it must) and its JSON."""
    if resp.status_code not in call.expect_status:
        verdict = failure_verdict(resp)
        resp.failure(verdict.reason)
        return verdict, None
    if call.response == "none":
        return SUCCESS, None
    if not resp.content:
        verdict = Verdict("error", "empty answer, expected JSON")
        resp.failure(verdict.reason)
        return verdict, None
    answer = read_json(resp)
    if answer is BAD:
        verdict = Verdict(
            "error", f"answer is not JSON ({redact(content_type(resp)[:100]) or 'no content type'})"
        )
        resp.failure(verdict.reason)
        return verdict, None
    if not checks:
        return SUCCESS, answer
    verdict = judge(call.success, answer)
    if verdict.outcome == "error":
        resp.failure(verdict.reason)
    return verdict, answer
