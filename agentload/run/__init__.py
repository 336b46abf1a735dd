"""One phase run, from a ``RunConfig`` to its results folder.

- ``config``: ``RunConfig``/``WorkerConfig``, the results folder; ``execute``: the whole run as
  ``agentload run`` calls it; ``orchestrator``: ``Orchestrator`` (prepare, start, run, stop,
  finish); ``context``: the narrow views a phase (``PhaseContext``) and the end of a run
  (``FinishedRun``) receive instead of the orchestrator;
- ``phases/``: the phases' Locust runs (load, stress, profile, sweep, replay) and ``drive``, the
  wait;
- ``target``: the embedded target service or a URL; ``locust_plan``, ``locust_processes``:
  Locust as subprocesses; ``remote_worker``: ``agentload worker``; ``profiler``: py-spy;
  ``resources``: the resource sampler; ``server_view``: the run's Prometheus; ``console``: the
  live view; ``finish``: summary.json, junit.xml, report.html and the last lines; ``run_log``:
  runner.log.

May import: every package below it (``report``, ``prometheus``, ``results``, ``profiles``,
``gates``, ``scenarios``, ``apis``, ``metrics``, ``stock``) and the root modules. Never the CLI,
never ``agentload.locust``, Locust or gevent: Locust runs as processes, started by command line.
"""
