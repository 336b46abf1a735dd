"""`agentload run`'s typed configuration and its results folder (the CLI builds `RunConfig`)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from agentload.errors import ConfigError

log = logging.getLogger("agentload")


class WorkerLossPolicy(StrEnum):
    """What a run does when a Locust worker dies."""

    FAIL = "fail"
    CONTINUE = "continue"


@dataclass(frozen=True)
class RunConfig:
    """`agentload run` options, typed (built by the CLI; None means "the profile's default")."""

    phase: str
    host: str | None = None
    users: int | None = None
    spawn_rate: float | None = None
    duration: str | None = None
    workers: int = 0
    out: Path | None = None
    web: bool = False
    web_port: int = 8089
    gates: tuple[str, ...] = ()
    allow_remote: bool = False
    baseline: Path | None = None
    on_worker_loss: WorkerLossPolicy = WorkerLossPolicy.FAIL
    ready_timeout: float = 30.0
    pid: int | None = None
    prometheus: str | None = None
    no_prometheus: bool = False
    scenario_config: Path | None = None
    api: str | None = None
    model: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    entry: str | None = None
    rate: float | None = None
    arrival: str | None = None
    slo: tuple[str, ...] = ()
    steps: int | None = None
    step_duration: str | None = None
    locustfile: Path | None = None
    user_classes: tuple[str, ...] = ()
    locust_args: tuple[str, ...] = ()
    expect_workers: int = 0
    master_bind: str = "127.0.0.1"
    master_port: int = 5557
    workers_timeout: float = 60.0
    allow_inconclusive: bool = False
    until: tuple[str, ...] = ()
    trace: Path | None = None
    speed: float | None = None
    max_duration: str | None = None
    warmup: str | None = None
    cooldown: str | None = None
    results_root: Path = Path("results")
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerConfig:
    """`agentload worker` options, typed: a Locust worker (or one after another, as the phase's
    Locust runs come and go) of the master at `master_host:master_port`."""

    master_host: str
    master_port: int = 5557
    api: str | None = None
    scenario_config: Path | None = None
    model: str | None = None
    locustfile: Path | None = None
    user_classes: tuple[str, ...] = ()
    connect_timeout: float = 300.0
    locust_args: tuple[str, ...] = ()


def parse_master(value: str) -> tuple[str, int]:
    """``HOST[:PORT]`` (PORT 5557 by default; ``[::1]:5557`` for IPv6). ConfigError otherwise."""
    host, port = value, "5557"
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":") or port
    elif value.count(":") == 1:
        host, port = value.split(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"--master {value!r}: expected HOST[:PORT], e.g. 10.0.0.5:5557")
    return host, int(port)


def make_out_dir(config: RunConfig, started: datetime, phase: str) -> Path:
    """The run folder (created and checked writable); `results/latest` points at a default one."""
    if config.out is not None:
        out = config.out
    else:
        out = config.results_root / f"{started:%Y%m%dT%H%M%SZ}-{phase}"
        for n in range(2, 100):  # two runs in the same second get their own folders
            if not out.exists():
                break
            out = config.results_root / f"{started:%Y%m%dT%H%M%SZ}-{phase}-{n}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".agentload-write-test"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(f"output folder {str(out)!r} is not writable: {reason}") from None
    if config.out is None:
        latest = config.results_root / "latest"
        tmp = config.results_root / f".latest-{os.getpid()}"
        try:
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(out.name)
            os.replace(tmp, latest)
        except OSError as exc:
            log.warning("could not point %s at %s: %s", latest, out, exc)
    return out.absolute()  # Locust runs in the project folder: give it absolute paths
