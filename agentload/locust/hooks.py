"""Typed access to Locust's event hooks (Locust's ``add_listener`` is untyped)."""

from __future__ import annotations

from locust import events

from collections.abc import Callable
from typing import Any

Handler = Callable[..., None]


def listen(name: str, handler: Handler) -> Handler:
    """Add ``handler`` to the global ``locust.events.<name>`` hook and return it."""
    hook: Any = getattr(events, name)
    hook.add_listener(handler)
    return handler
