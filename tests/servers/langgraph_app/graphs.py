"""Two graphs for the ``langgraph`` preset's tests, served by ``langgraph dev``; no LLM, no key.

langgraph.json registers them as ``agent`` (the graph id of LangGraph's project templates, the
preset's default ``assistant_id``) and ``failing``.

- ``echo``: one node that sleeps 200 ms and answers ``echo: <the last user message>`` as an
  AIMessage, streamed word by word by a fake chat model (so ``stream_mode = "messages-tuple"``
  has several token events). Each run appends one JSON line to the file named by
  ``LANGGRAPH_ECHO_LOG`` (if set): ``{"messages": <how many messages the node saw>, "thread_id",
  "run_id"}``, so a test counts the runs the server executed and sees each turn's input.
- ``failing``: one node that raises ``RuntimeError(FAILURE)``.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import START, MessagesState, StateGraph

DELAY_S = 0.2
FAILURE = "the failing graph raised on purpose (agentload test)"


def _record(state: MessagesState, config: RunnableConfig) -> None:
    path = os.environ.get("LANGGRAPH_ECHO_LOG")
    if not path:
        return
    configurable = config.get("configurable", {})
    line = {
        "messages": len(state["messages"]),
        "thread_id": str(configurable.get("thread_id", "")),
        "run_id": str(configurable.get("run_id", "")),
    }
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")


def _echo(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
    """Sleep, record the run, answer the last message back (a sync node: langgraph runs it in
    a thread, so the sleep and the file write do not block the server's event loop)."""
    _record(state, config)
    time.sleep(DELAY_S)
    text = state["messages"][-1].content if state["messages"] else ""
    model = GenericFakeChatModel(messages=iter([AIMessage(content=f"echo: {text}")]))
    return {"messages": [model.invoke(state["messages"], config)]}


def _fail(state: MessagesState) -> dict[str, Any]:
    raise RuntimeError(FAILURE)


echo = StateGraph(MessagesState).add_node("echo", _echo).add_edge(START, "echo").compile()
failing = StateGraph(MessagesState).add_node("fail", _fail).add_edge(START, "fail").compile()
