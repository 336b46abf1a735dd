"""Locust load shapes, loaded by Locust as files beside the users
(`-f locustfiles/agents.py,agentload/locust/shapes/X.py`).

Each reads its table from the environment variable ``AGENTLOAD_SHAPE`` (JSON) set by the runner.

May import: what ``agentload.locust`` may (they run inside Locust).
"""
