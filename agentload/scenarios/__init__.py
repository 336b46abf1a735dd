"""What the users run: scenario configs (an overlay on a description, the seed, the open model),
datasets, synthetic prompts, arrival schedules, traces to replay (``traces``) and their schedule
(``replay``), and ``plan``: an API description resolved with its phase overlay and a scenario
config into the run's ``ApiPlan`` (pure: importable without Locust).

May import: ``agentload.apis``, ``agentload.stock``, ``agentload.errors``,
``agentload.validation``. Never the runner, the CLI or Locust.
"""
