"""Loaded beside a user's own locustfile: registers agentload's plugin (options, recorders)."""

import agentload.locust  # noqa: F401
