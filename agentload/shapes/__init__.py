"""Locust load shapes, loaded by Locust as files beside the users
(`-f agentload/data/locustfiles/agents.py,agentload/shapes/X.py`).

Each reads its table from the environment variable ``AGENTLOAD_SHAPE`` (JSON) set by the runner.
"""
