"""agentload: load testing for AI-agent HTTP APIs."""

__version__ = "0.1.0"
