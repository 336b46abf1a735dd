"""docker-compose.yml, the Dockerfile and the Grafana provisioning hang together (no Docker here).

Checks the structure: services, healthchecks, scalable workers, that every path the files refer to
exists, and that ports agree with the Prometheus config and the dashboard's datasource.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import ROOT

SERVICES = {
    "engine", "agent-api", "master", "worker", "locust-master", "locust-worker", "prometheus",
    "grafana",
}  # fmt: skip
_DEFAULTED = re.compile(r"\$\{(\w+):-([^}]*)\}")


def load(path: str) -> Any:
    return yaml.safe_load((ROOT / path).read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = load("docker-compose.yml")
    return data


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else [str(c) for c in command]


def option(command: list[str], name: str) -> str:
    assert name in command, f"{name} missing from {command}"
    return command[command.index(name) + 1]


def container_ports(service: dict[str, Any]) -> set[int]:
    """Ports a service listens on, from `ports` (HOST:CONTAINER) and `expose`."""
    ports = {int(str(p).split(":")[-1]) for p in service.get("ports", [])}
    return ports | {int(p) for p in service.get("expose", [])}


def interpolated(value: Any) -> str:
    """`value` as compose runs it with nothing set in the environment: `${VAR:-default}` becomes
    default; any other `$` form is refused (its value would be unknown here)."""
    text = _DEFAULTED.sub(lambda m: m.group(2), str(value))
    assert "$" not in text, f"{value!r}: only ${{VAR:-default}} is interpolated here"
    return text


def defaults(value: Any) -> dict[str, str]:
    """The `${VAR:-default}` variables of `value` and their defaults."""
    return dict(_DEFAULTED.findall(str(value)))


def test_compose_has_every_service_with_a_healthcheck(compose: dict[str, Any]) -> None:
    """All eight services exist and each has a healthcheck test."""
    services = compose["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_locust_workers_are_scalable(compose: dict[str, Any]) -> None:
    """Workers have no fixed name or host port (so --scale works) and point at the master."""
    worker = compose["services"]["locust-worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert worker["deploy"]["replicas"] >= 1
    command = command_of(worker)
    assert "--worker" in command and option(command, "--master-host") == "locust-master"
    assert "--master" in command_of(compose["services"]["locust-master"])
    assert 5557 in container_ports(compose["services"]["locust-master"])


def test_dependencies_wait_for_health(compose: dict[str, Any]) -> None:
    """Every depends_on names a service that exists, and waits for it to be healthy or started."""
    for name, service in compose["services"].items():
        for dep, cond in service.get("depends_on", {}).items():
            assert dep in compose["services"], f"{name} depends on unknown {dep}"
            assert cond["condition"] in ("service_healthy", "service_started")


def test_referenced_paths_exist(compose: dict[str, Any]) -> None:
    """Bind mounts, the build context and the locustfiles the commands name exist."""
    for name, service in compose["services"].items():
        if "build" in service:
            context = service["build"] if isinstance(service["build"], str) else service["build"]
            assert (ROOT / str(context) / "Dockerfile").is_file(), name
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"
        command = command_of(service)
        if "-f" in command:
            assert (ROOT / option(command, "-f")).is_file(), f"{name}: no {option(command, '-f')}"


def test_dockerfile_copies_existing_paths() -> None:
    """Every COPY source of the Dockerfile exists and is not excluded by .dockerignore."""
    ignored = set((ROOT / ".dockerignore").read_text().split())
    sources = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            sources += line.split()[1:-1]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
        assert source not in ignored, f"{source} is in .dockerignore"


def test_scrape_targets_match_service_ports(compose: dict[str, Any]) -> None:
    """Each Prometheus target is a compose service listening on that port, and the job names are
    the ones rules and dashboards use."""
    services = compose["services"]
    config = load("deploy/prometheus/prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"agent-api", "engine", "locust"} <= set(jobs)
    for job in jobs.values():
        for target in job["static_configs"][0]["targets"]:
            host, port = target.rsplit(":", 1)
            if host == "localhost":
                continue
            assert host in services, f"target {target} is not a service"
            assert int(port) in container_ports(services[host]), f"{host} does not listen on {port}"
    api = command_of(services["agent-api"])
    engine = command_of(services["engine"])
    master = command_of(services["locust-master"])
    assert jobs["agent-api"]["static_configs"][0]["targets"] == [
        f"agent-api:{option(api, '--port')}"
    ]
    assert jobs["engine"]["static_configs"][0]["targets"] == [f"engine:{option(engine, '--port')}"]
    port = option(master, "--client-metrics-port")
    assert jobs["locust"]["static_configs"][0]["targets"] == [f"locust-master:{port}"]
    assert option(master, "--client-metrics-host") == "0.0.0.0"
    assert services["agent-api"]["environment"]["AGENT_ENGINE_URL"] == (
        f"http://engine:{option(engine, '--port')}"
    )
    assert option(master, "--host") == f"http://agent-api:{option(api, '--port')}"


def test_prometheus_mounts_its_config_and_rules(compose: dict[str, Any]) -> None:
    """The Prometheus service mounts the config and rules folder that its command reads."""
    prometheus = compose["services"]["prometheus"]
    mounts = dict(str(v).split(":")[:2] for v in prometheus["volumes"])
    config_in = option(
        [p for c in command_of(prometheus) for p in c.split("=", 1)], "--config.file"
    )
    assert mounts["./deploy/prometheus/prometheus.yml"] == config_in
    rule_glob = load("deploy/prometheus/prometheus.yml")["rule_files"][0]
    assert Path(rule_glob).parent.as_posix() == mounts["./deploy/prometheus/rules"]
    assert 9090 in container_ports(prometheus)


def test_grafana_provisions_the_dashboard_and_datasource(compose: dict[str, Any]) -> None:
    """Grafana's datasource points at the Prometheus service, and the dashboard provider's folder is
    where the dashboards are mounted."""
    grafana = compose["services"]["grafana"]
    mounts = dict(str(v).split(":")[:2] for v in grafana["volumes"])
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    datasource = load("deploy/grafana/provisioning/datasources/prometheus.yml")["datasources"][0]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    provider = load("deploy/grafana/provisioning/dashboards/agentload.yml")["providers"][0]
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(provider["options"]["path"] + "/")
    assert (ROOT / "deploy/grafana/dashboards" / Path(home).name).is_file()
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/agentload.json").read_text())
    variable = next(v for v in dashboard["templating"]["list"] if v["name"] == "datasource")
    assert variable["current"]["value"] == datasource["uid"]


def test_dashboard_panels_query_prometheus_through_the_variable() -> None:
    """Every panel and target uses the $datasource variable and has a PromQL expression."""
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/agentload.json").read_text())
    titles = [p["title"] for p in dashboard["panels"]]
    assert len(titles) == len(set(titles))
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            assert re.search(r"[a-z_]+", target["expr"]), panel["title"]
    wanted = ["P95", "P99", "Requests per second", "success", "Users", "Errors", "TTFT", "TTC",
              "queue", "slots", "CPU", "memory"]  # fmt: skip
    for word in wanted:
        assert any(word.lower() in t.lower() for t in titles), f"no panel about {word}"


_LOCUST_OPTIONS = """
import runpy
import sys

import locust  # noqa: F401  (gevent first)
from locust.argument_parser import get_parser

sys.path.insert(0, ".")
runpy.run_path("locustfiles/agents.py")  # registers agentload's options
print(" ".join(s for a in get_parser()._actions for s in a.option_strings))
"""


def test_locust_commands_use_options_locust_knows(compose: dict[str, Any]) -> None:
    """Every option the master and worker commands pass is one Locust's parser knows once the
    locustfile (with agentload's plugin options) is loaded."""
    result = subprocess.run(
        [sys.executable, "-c", _LOCUST_OPTIONS],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    known = set(result.stdout.split())
    assert "--client-metrics-port" in known
    for name in ("locust-master", "locust-worker"):
        for arg in command_of(compose["services"][name])[1:]:
            if arg.startswith("-"):
                assert arg in known, f"{name}: locust does not know {arg}"


def test_gated_master_and_scaled_workers_agree(compose: dict[str, Any]) -> None:
    """`docker compose up --scale worker=N` runs a gated phase: the master runs `agentload run`
    expecting as many workers as the worker service's default replicas (both read WORKERS), binds
    every interface on the port the workers dial, and writes into the results volume; the workers
    are scalable, use the same image and wait for the master; neither restarts after the run."""
    services = compose["services"]
    master, worker = services["master"], services["worker"]
    run, work = command_of(master), command_of(worker)
    assert run[:2] == ["agentload", "run"] and work[:2] == ["agentload", "worker"]
    assert option(run, "--master-bind") == "0.0.0.0"
    port = int(option(run, "--master-port"))
    assert port in container_ports(master) and "ports" not in master
    assert option(work, "--master") == f"master:{port}"
    expected = option(run, "--expect-workers")
    replicas = worker["deploy"]["replicas"]
    assert defaults(expected) == defaults(replicas) == {"WORKERS": "2"}
    assert "container_name" not in worker and "ports" not in worker
    assert master["image"] == worker["image"] == services["agent-api"]["image"] == "agentload:local"
    assert master["restart"] == worker["restart"] == "no"
    assert worker["depends_on"] == {"master": {"condition": "service_healthy"}}
    assert f"'master', {port}" in str(worker["healthcheck"]["test"])
    assert f"'127.0.0.1', {port}" in str(master["healthcheck"]["test"])
    mounts = dict(str(v).split(":")[:2] for v in master["volumes"])
    assert "results" in compose["volumes"]
    assert interpolated(option(run, "--out")).startswith(mounts["results"] + "/")
    assert "PHASE" in defaults(option(run, "--out")) and "PHASE" in defaults(run[2])
    api = command_of(services["agent-api"])
    assert option(run, "--host") == f"http://agent-api:{option(api, '--port')}"
    assert "--allow-remote" in run
    assert option(run, "--prometheus") == "http://prometheus:9090"
    assert 9090 in container_ports(services["prometheus"])
    assert master["depends_on"]["prometheus"] == {"condition": "service_healthy"}
    for name in ("locust-master", "locust-worker"):  # the web UI only on request
        assert services[name]["profiles"] == ["ui"]
    assert "profiles" not in master and "profiles" not in worker


def test_compose_agentload_commands_parse_with_the_cli(compose: dict[str, Any]) -> None:
    """Every `agentload ...` command of docker-compose.yml, with the variables at their defaults,
    is accepted by agentload's own CLI (parsed, not run)."""
    from tests.deploy.test_k8s import parse_with_cli

    commands = [
        [interpolated(arg) for arg in command_of(service)]
        for service in compose["services"].values()
        if command_of(service)[:1] == ["agentload"]
    ]
    assert len(commands) == 2
    for args in commands:
        parse_with_cli(args)
