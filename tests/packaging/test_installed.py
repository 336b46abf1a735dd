"""The tool as a user installs it: a wheel built from a clean copy of the checkout, installed
into a fresh virtualenv, then `agentload` in an empty folder, far from the checkout.

The package itself (agentload, target_service and their data) is built into a wheel from the
copy and installed for real; the tests also read the wheel (its stock files are the repository's
top-level `locustfiles/`, `profiles/` and `scenarios/`) and pyproject.toml's package list.

Its third-party dependencies are shared from the project's virtualenv through a `.pth` line
(offline, seconds instead of minutes); a `.pth` line only adds a folder to `sys.path`, so the
project's editable install (a `.pth` hook in that folder) stays inactive, and the tests assert
that agentload and target_service import from the fresh virtualenv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

from tests.runner.agentload_run import env_with
from tests.support import ROOT

pytestmark = pytest.mark.slow

# The design card's top-level folders, which the wheel maps into agentload/data/<folder>/.
STOCK_FOLDERS = ("locustfiles", "profiles", "scenarios")


@dataclass(frozen=True)
class Installed:
    """A fresh virtualenv with agentload installed from a wheel built from a copy of the
    checkout, and that wheel."""

    venv: Path
    wheel: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self) -> dict[str, str]:
        env = env_with({"PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}"})
        for name in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
            env.pop(name, None)
        return env

    def run(
        self, args: list[str], cwd: Path, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "agentload"), *args], cwd=cwd, env=self.env(),
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip


def _checkout_files() -> list[str]:
    """The git-tracked files and the untracked, not ignored ones that are on disk (a tracked
    file deleted in the working tree is not one), as posix paths from the repository root."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True, timeout=30,
    ).stdout.decode()  # fmt: skip
    return sorted({name for name in listed.split("\0") if name and (ROOT / name).is_file()})


def _copy_checkout(dest: Path) -> None:
    """The checkout's files (`_checkout_files`) as they are on disk."""
    for name in _checkout_files():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    if not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout (the copy is the git-tracked files)")
    base = tmp_path_factory.mktemp("installed")
    source, venv, wheels = base / "checkout", base / "venv", base / "wheels"
    _copy_checkout(source)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(wheels), str(source)],
        cwd=base, check=True, timeout=180,
    )  # fmt: skip
    (wheel,) = wheels.glob("agentload-*.whl")
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    python = str(venv / "bin" / "python")
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(
        subprocess.run(
            [python, "-c", where], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
    )
    (site / "_project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-index", "--ignore-installed", str(wheel)],
        cwd=base, check=True, timeout=120,
    )  # fmt: skip
    shutil.rmtree(source)  # nothing of the copy may be used once installed
    return Installed(venv, wheel)


def test_the_wheel_carries_the_top_level_stock_folders_byte_for_byte(installed):
    """The wheel's agentload/data/{locustfiles,profiles,scenarios}/ hold exactly the files of the
    repository's top-level folders of those names, with the same bytes, and the wheel's top
    level holds nothing but agentload/, target_service/ and its metadata."""
    expected = {
        f"agentload/data/{name}": (ROOT / name).read_bytes()
        for name in _checkout_files()
        if PurePosixPath(name).parts[0] in STOCK_FOLDERS
    }
    with zipfile.ZipFile(installed.wheel) as wheel:
        members = [info.filename for info in wheel.infolist() if not info.is_dir()]
        shipped = {
            name: wheel.read(name)
            for name in members
            if any(name.startswith(f"agentload/data/{folder}/") for folder in STOCK_FOLDERS)
        }
    assert {PurePosixPath(name).parts[2] for name in expected} == set(STOCK_FOLDERS)
    assert sorted(shipped) == sorted(expected)
    for name, content in expected.items():
        assert shipped[name] == content, f"{name} differs from the checkout's file"
    tops = {PurePosixPath(name).parts[0] for name in members}
    assert {top for top in tops if not top.endswith(".dist-info")} == {
        "agentload",
        "target_service",
    }


def test_pyproject_lists_every_package_folder_and_the_data_packages():
    """pyproject.toml's `packages` names every folder with an __init__.py under agentload/ and
    target_service/, every data folder of agentload/data/ and the mapped stock folders, and
    nothing more, so that no package is left out of the wheel."""
    files = [PurePosixPath(name) for name in _checkout_files()]
    code = {
        ".".join(path.parent.parts)
        for path in files
        if path.name == "__init__.py" and path.parts[0] in ("agentload", "target_service")
    }
    data = {
        f"agentload.data.{path.parts[2]}"
        for path in files
        if path.parts[:2] == ("agentload", "data") and len(path.parts) > 3
    }
    stock = {f"agentload.data.{folder}" for folder in STOCK_FOLDERS}
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = setuptools["packages"]
    assert len(listed) == len(set(listed)), "a package is listed twice"
    assert set(listed) == code | data | stock
    assert setuptools["package-dir"] == {f"agentload.data.{f}": f for f in STOCK_FOLDERS}


def test_the_fresh_virtualenv_runs_agentload_from_its_own_site_packages(installed, tmp_path):
    """agentload, target_service, the stock files and the locustfile given to Locust all come
    from the fresh virtualenv, and every kind of stock file is there."""
    probe = (
        "import json, agentload, target_service;"
        "from agentload.stock import lookup as f; from agentload.run import locust_plan as r;"
        "print(json.dumps([agentload.__file__, target_service.__file__, str(f.PACKAGE_DATA),"
        " str(r.LOCUSTFILE), {k: str(f.stock_dir(k)) for k in f.KINDS},"
        " {k: f.stock_names(k) for k in f.KINDS}]))"
    )
    done = subprocess.run(
        [str(installed.bin / "python"), "-c", probe], cwd=tmp_path, env=installed.env(),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    *files, dirs, names = json.loads(done.stdout)
    for path in [*files, *dirs.values()]:
        assert Path(path).is_relative_to(installed.venv), path
    assert Path(files[3]).is_file()
    assert set(dirs) == {"apis", "profiles", "scenarios", "datasets", "locustfiles"}
    assert all(Path(folder).is_dir() for folder in dirs.values()), dirs
    assert names["profiles"] == ["smoke", "load", "stress", "profile", "rate", "replay", "sweep"]
    assert {"agent-v1", "openai-chat", "langgraph"} <= set(names["apis"])
    assert {"default", "smoke", "load", "stress"} <= set(names["scenarios"])
    assert names["datasets"] and "agents" in names["locustfiles"]


def _assert_passed(done: subprocess.CompletedProcess[str], folder: Path) -> dict[str, object]:
    runs = sorted(p for p in (folder / "results").glob("*-smoke*") if p.is_dir())
    log = (runs[-1] / "runner.log").read_text(errors="replace") if runs else ""
    assert done.returncode == 0, done.stdout + done.stderr + log[-3000:]
    assert str(ROOT / "agentload") not in log and str(ROOT / "target_service") not in log
    summary: dict[str, object] = json.loads((runs[-1] / "summary.json").read_text())
    assert summary["verdict"] == "pass"
    return summary


def test_installed_agentload_runs_smoke_in_an_empty_folder(installed, tmp_path):
    """`agentload run smoke --duration 20s` from an empty folder starts the embedded target
    and passes its gates with the stock profile, description and locustfile."""
    done = installed.run(["run", "smoke", "--duration", "20s"], cwd=tmp_path)
    summary = _assert_passed(done, tmp_path)
    assert summary["agent_outcomes"]


def test_installed_agentload_init_then_runs_the_written_files(installed, tmp_path):
    """`agentload init` in an empty folder, then a smoke run of the written profile and API
    description passes."""
    init = installed.run(["init"], cwd=tmp_path, timeout=60)
    assert init.returncode == 0, init.stderr
    assert "agentload run profiles/my-smoke.toml --api apis/my-api.toml" in init.stdout
    args = ["run", "profiles/my-smoke.toml", "--api", "apis/my-api.toml", "--duration", "20s"]
    _assert_passed(installed.run(args, cwd=tmp_path), tmp_path)
