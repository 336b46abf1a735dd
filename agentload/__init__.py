"""agentload: load testing for AI-agent HTTP APIs.

Packages by role, each importing only those below it (import-linter contracts in pyproject.toml,
drawn in docs/architecture.md):

- ``cli``: the command line, one module per command;
- ``run``: one phase run (orchestrator, phases, target, Locust processes, profiler, results);
  ``locust``: what runs inside the Locust processes (plugin, users, recorders, shapes);
- ``report``: report.html and ``agentload compare``; ``prometheus``: the server-side view;
- ``results``: the results contract (summary.json, junit.xml, requests.jsonl.gz);
- ``profiles``, ``gates``, ``scenarios``, ``apis``: what a run is asked to do (pure);
- ``metrics``: the pure figures; ``stock``: where the shipped files are.

Root modules: ``errors`` (exception tree, exit codes), ``durations``, ``validation``,
``processes`` (child processes ended by PID); they import no package of agentload.
"""

__version__ = "0.1.0"
