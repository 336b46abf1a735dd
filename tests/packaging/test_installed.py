"""The tool as a user installs it: `pip install` of a clean copy of the checkout (not editable)
into a fresh virtualenv, then `agentload` in an empty folder, far from the checkout.

The package itself (agentload, target_service and their data) is built from the copy and
installed for real. Its third-party dependencies are shared from the project's virtualenv through
a `.pth` line (offline, seconds instead of minutes); a `.pth` line only adds a folder to
`sys.path`, so the project's editable install (a `.pth` hook in that folder) stays inactive, and
the tests assert that agentload and target_service import from the fresh virtualenv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.runner.agentload_run import env_with
from tests.support import ROOT

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Installed:
    """A fresh virtualenv with agentload installed from a copy of the checkout."""

    venv: Path

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


def _copy_checkout(dest: Path) -> None:
    """The git-tracked files and the untracked, not ignored ones, as they are on disk."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True, timeout=30,
    ).stdout.decode()  # fmt: skip
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    if not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout (the copy is the git-tracked files)")
    base = tmp_path_factory.mktemp("installed")
    source, venv = base / "checkout", base / "venv"
    _copy_checkout(source)
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
         "--no-build-isolation", "--no-index", "--ignore-installed", str(source)],
        cwd=base, check=True, timeout=120,
    )  # fmt: skip
    shutil.rmtree(source)  # nothing of the copy may be used once installed
    return Installed(venv)


def test_the_fresh_virtualenv_runs_agentload_from_its_own_site_packages(installed, tmp_path):
    """agentload, target_service, the stock files and the locustfile given to Locust all come
    from the fresh virtualenv, and every kind of stock file is there."""
    probe = (
        "import json, agentload, target_service;"
        "from agentload import files as f, locust_runner as r;"
        "print(json.dumps([agentload.__file__, target_service.__file__, str(f.PACKAGE_DATA),"
        " str(r.LOCUSTFILE), {k: f.stock_names(k) for k in f.KINDS}]))"
    )
    done = subprocess.run(
        [str(installed.bin / "python"), "-c", probe], cwd=tmp_path, env=installed.env(),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    *files, names = json.loads(done.stdout)
    for path in files:
        assert Path(path).is_relative_to(installed.venv), path
    assert Path(files[3]).is_file()
    assert names["profiles"] == ["smoke", "load", "stress", "profile", "rate", "sweep"]
    assert {"agent-v1", "openai-chat", "runs"} <= set(names["apis"])
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
