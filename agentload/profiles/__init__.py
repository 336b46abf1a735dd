"""Phase profiles: ``profiles/<phase>.toml`` loaded into a typed ``Profile``, CLI overrides applied.

A profile holds a phase's defaults (users, spawn rate, duration, load shape and its table, SLOs,
gates, early abort); the runner reads one per ``agentload run PHASE``. Everything here is pure:
no I/O beyond finding and reading the TOML file, no Locust, no runner.

Modules:

- ``model``: ``Profile`` and its parameter tables with their validators, ``PHASES``,
  ``PROFILES_DIR``, ``check_worker_steps``.
- ``load``: finding a profile by name or path (``load_profile``, ``profile_from_dict``,
  ``profile_path``) and its scenario config (``scenario_config_path``).
- ``overrides``: ``apply_overrides``, the CLI options (``--users``, ``--duration``, ...) applied
  so that the stage table keeps its form.

Inside, ``model`` imports neither of the others; ``load`` and ``overrides`` import ``model``, and
``load`` imports ``overrides``. Import names from the module that defines them; this package
re-exports nothing.

May import: ``agentload.errors``, ``agentload.durations``, ``agentload.stock`` (the lookup),
``agentload.gates`` (the gate grammar) and ``agentload.metrics`` (SLOs). Never
``agentload.run``, ``agentload.cli`` or ``agentload.locust``.
"""
