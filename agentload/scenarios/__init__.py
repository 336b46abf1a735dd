"""Scenario configs, datasets and agent-success judges (pure: importable without Locust)."""
