"""deploy/k8s/ renders, validates against Kubernetes 1.31 and agrees with agentload's own CLI.

No kubectl or kustomize binary here: `build()` renders a kustomization itself, for the subset of
Kustomize the manifests use, and fails loudly on anything else, so that it never validates less
than `kubectl kustomize` would build:

- kustomization keys: `apiVersion`, `kind`, `resources`, `patches` (nothing else: no namePrefix,
  namespace, labels, images, generators, replacements, components);
- `resources`: local YAML files (several documents each) and local folders holding a
  kustomization.yaml (no URLs);
- `patches`: entries with only `path`, a strategic-merge patch of one object named by its own
  apiVersion, kind and metadata.name (no `target`, no JSON 6902, no `$patch` directives): maps
  merge key by key, `null` deletes a key, lists of maps merge by their Kubernetes merge key for
  `containers` and `env` (name), `volumes` (name) and `volumeMounts` (mountPath), and `args` and
  `command` are replaced whole; a patch holding any other list, or naming an object the build
  does not have, is refused;
- two objects with the same apiVersion, kind and name are refused, as Kustomize does.

The rendered objects are validated with kubernetes-validate's strict schemas (no unknown field).
"""

from __future__ import annotations

import copy
import shlex
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
KUBERNETES_VERSION = "1.31"
KUSTOMIZATIONS = [K8S, K8S / "overlays" / "external-api", K8S / "overlays" / "stress"]
STANDALONE = [K8S / "collect" / "results-reader.yaml"]  # applied by hand, outside any build
IMAGE = "agentload:local"

_KEYS = {"apiVersion", "kind", "resources", "patches"}
_MERGE_KEYS = {"containers": "name", "env": "name", "volumes": "name", "volumeMounts": "mountPath"}
_REPLACED_LISTS = {"args", "command"}


class UnsupportedKustomize(AssertionError):
    """The kustomization uses something `build()` does not render: extend it or simplify."""


def _docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def _id(obj: dict[str, Any]) -> tuple[str, str, str]:
    return obj["apiVersion"], obj["kind"], obj["metadata"]["name"]


def _merge(base: dict[str, Any], patch: dict[str, Any], where: str) -> None:
    """Apply strategic-merge patch `patch` to `base` in place (the subset in the docstring)."""
    for key, value in patch.items():
        at = f"{where}.{key}"
        if key.startswith("$"):
            raise UnsupportedKustomize(f"{at}: patch directives are not rendered")
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict):
            target = base.setdefault(key, {})
            if not isinstance(target, dict):
                raise UnsupportedKustomize(f"{at}: a map patched onto a {type(target).__name__}")
            _merge(target, value, at)
        elif isinstance(value, list) and key in _REPLACED_LISTS:
            base[key] = copy.deepcopy(value)
        elif isinstance(value, list) and key in _MERGE_KEYS:
            merge_key = _MERGE_KEYS[key]
            items = base.setdefault(key, [])
            for item in value:
                if not isinstance(item, dict) or merge_key not in item:
                    raise UnsupportedKustomize(f"{at}: each item needs its merge key {merge_key}")
                same = [i for i in items if i.get(merge_key) == item[merge_key]]
                if same:
                    _merge(same[0], item, f"{at}[{item[merge_key]}]")
                else:
                    items.append(copy.deepcopy(item))
        elif isinstance(value, list):
            raise UnsupportedKustomize(f"{at}: list patches are rendered only for {_MERGE_KEYS}")
        else:
            base[key] = value


def build(folder: Path) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize folder` renders (for the subset in the module docstring)."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(kustomization) - _KEYS
    if unknown:
        raise UnsupportedKustomize(f"{folder}: kustomization keys not rendered: {sorted(unknown)}")
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    objects: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = folder / entry
        if "://" in entry or not path.exists():
            raise UnsupportedKustomize(f"{folder}: resource {entry!r} is not a local file/folder")
        objects += build(path) if path.is_dir() else _docs(path)
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise UnsupportedKustomize(f"{folder}: patch {patch}: only `path` is rendered")
        (doc,) = _docs(folder / patch["path"])
        matches = [obj for obj in objects if _id(obj) == _id(doc)]
        if len(matches) != 1:
            raise UnsupportedKustomize(
                f"{folder}: patch {patch['path']} names no object {_id(doc)}"
            )
        _merge(matches[0], doc, f"{patch['path']}")
    ids = [_id(obj) for obj in objects]
    assert len(ids) == len(set(ids)), f"{folder}: an object appears twice"
    return objects


def referenced_files(folder: Path) -> set[Path]:
    """Every file a kustomization reads, its own kustomization.yaml included."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    files = {folder / "kustomization.yaml"} | {
        folder / p["path"] for p in kustomization.get("patches", [])
    }
    for entry in kustomization["resources"]:
        path = folder / entry
        files |= referenced_files(path) if path.is_dir() else {path}
    return {f.resolve() for f in files}


@dataclass
class Build:
    """One rendered kustomization, with the pieces the tests look at."""

    objects: list[dict[str, Any]]

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


@pytest.fixture(scope="module", params=KUSTOMIZATIONS, ids=lambda p: p.relative_to(K8S).as_posix())
def rendered(request: pytest.FixtureRequest) -> Build:
    return Build(build(request.param))


def test_every_manifest_is_rendered_or_validated_on_its_own() -> None:
    """Every YAML file under deploy/k8s/ is read by one of the tested kustomizations or is a
    tested standalone manifest: none is left out of validation."""
    covered = set().union(*(referenced_files(k) for k in KUSTOMIZATIONS))
    covered |= {p.resolve() for p in STANDALONE}
    files = {p.resolve() for p in K8S.rglob("*.y*ml")}
    assert files == covered, sorted(str(p.relative_to(K8S)) for p in files ^ covered)


def test_the_renderer_refuses_what_it_does_not_render(tmp_path: Path) -> None:
    """An unknown kustomization key, a patch with a target and a patched list without a merge key
    stop the build instead of being skipped."""
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    head = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n"
    for extra in (
        "namePrefix: x-\n",
        "patches: [{path: p.yaml, target: {kind: ConfigMap}}]\n",
        "patches: [{path: p.yaml}]\n",
    ):
        (tmp_path / "kustomization.yaml").write_text(head + extra)
        (tmp_path / "p.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, finalizers: [x]}\n"
        )
        with pytest.raises(UnsupportedKustomize):
            build(tmp_path)


def test_manifests_validate_against_kubernetes(rendered: Build) -> None:
    """Each rendered object validates against Kubernetes 1.31's strict schemas."""
    assert rendered.objects
    for obj in rendered.objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {exc.path}")


@pytest.mark.parametrize("path", STANDALONE, ids=lambda p: p.name)
def test_standalone_manifests_validate_against_kubernetes(path: Path) -> None:
    """The results reader pod validates too, and mounts the results claim of the base."""
    (pod,) = _docs(path)
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    base = Build(build(K8S))
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
    base = Build(build(K8S))
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


def test_external_api_overlay_runs_only_the_runner() -> None:
    """The external-API overlay has no target, points --host elsewhere, and gives master and
    workers the ConfigMap's description, which agentload's description model accepts."""
    overlay = Build(build(K8S / "overlays" / "external-api"))
    assert not overlay.has("Deployment", "engine") and not overlay.has("Deployment", "agent-api")
    master = overlay.get("Job", "agentload-master")
    assert option(argv(master), "--host") != "http://agent-api:8000"
    api = Path(option(argv(master), "--api"))
    config_map = overlay.get("ConfigMap", "agentload-api")
    for obj in (master, overlay.get("Deployment", "agentload-worker")):
        volumes = {v["name"]: v for v in pod_template(obj)["spec"]["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in container(obj)["volumeMounts"]}
        assert volumes[mounts[str(api.parent)]]["configMap"]["name"] == "agentload-api"
    description = Description.model_validate(tomllib.loads(config_map["data"][api.name]))
    env = {e["name"] for e in container(master)["env"]}
    assert description.auth.env in env
