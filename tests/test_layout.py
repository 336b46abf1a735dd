"""The shape of agentload/: packages by role with their layers held by import-linter, no import
circle, few modules at the root, no module past the size guide."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import grimp
import pytest

from tests.support import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
MAX_ROOT_MODULES = 6
MAX_LINES = 350


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` as `make lint` runs it, on the tree in `cwd` (found first on sys.path)."""
    env = {"PYTHONPATH": str(cwd), "PATH": "", "COLUMNS": "300"}  # a contract's name on one line
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the packages and pyproject.toml that a test may break."""
    dest = tmp_path_factory.mktemp("layout")
    for name in ("agentload", "target_service"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_the_import_linter_contracts_hold_on_the_checkout():
    """Every import-linter contract of pyproject.toml is kept by the checkout."""
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "forbidden", "contract"),
    [
        (
            "agentload/metrics/latency.py",
            "from agentload.run import config",
            "Pure packages import nothing of the runner, the CLI or Locust",
        ),
        ("agentload/metrics/knee.py", "import pathlib", "The pure figures touch no file"),
        ("agentload/locust/outcomes.py", "import agentload.run.target", "The Locust side never"),
        ("agentload/results/junit.py", "import agentload.report.html", "agentload layers"),
        ("agentload/report/html.py", "import agentload.cli.app", "No package imports the CLI"),
        ("target_service/api/deps.py", "import agentload.errors", "target_service never imports"),
    ],
)
def test_a_forbidden_import_fails_lint_naming_the_contract(tree_copy, module, forbidden, contract):
    """A forbidden import added to a copy of the tree makes lint-imports fail, naming the
    broken contract and the import."""
    path = tree_copy / module
    original = path.read_text()
    try:
        path.write_text(f"{original}\n{forbidden}  # noqa\n")
        done = _lint_imports(tree_copy)
    finally:
        path.write_text(original)
    assert done.returncode == 1, done.stdout + done.stderr
    broken = [line for line in done.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(line.startswith(contract) for line in broken), done.stdout
    importer = module.removesuffix(".py").replace("/", ".")
    assert importer in done.stdout


def test_the_copy_of_the_tree_passes_lint_when_unchanged(tree_copy):
    """The copy the tests break passes as it is (so a failure above is the added import's)."""
    done = _lint_imports(tree_copy)
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_import_circle_in_agentload():
    """No module of agentload imports, through any chain, itself: every import counts, those
    under TYPE_CHECKING and those inside functions included."""
    graph = grimp.build_graph("agentload", exclude_type_checking_imports=False)
    imports = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    try:
        TopologicalSorter(imports).prepare()
    except CycleError as exc:
        pytest.fail(f"import circle: {' <- '.join(exc.args[1])}")


def test_type_checking_and_function_imports_are_in_the_graph():
    """The graph the circle test walks sees imports under TYPE_CHECKING and inside functions
    (a phase's context, the report the run builds at its end)."""
    graph = grimp.build_graph("agentload", exclude_type_checking_imports=False)
    assert graph.direct_import_exists(
        importer="agentload.run.phases.drive", imported="agentload.run.context"
    )
    assert graph.direct_import_exists(
        importer="agentload.run.finish", imported="agentload.report.build"
    )


def test_agentload_root_holds_at_most_six_modules():
    """agentload/'s root has the entry points and shared basics only; the rest is in packages."""
    modules = sorted(p.name for p in (ROOT / "agentload").glob("*.py"))
    assert len(modules) <= MAX_ROOT_MODULES, modules


def test_no_module_is_over_350_lines():
    """No module of agentload, target_service or the stock locustfiles is past 350 lines."""
    long = {}
    for folder in ("agentload", "target_service", "locustfiles"):
        for path in (ROOT / folder).rglob("*.py"):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                long[str(path.relative_to(ROOT))] = lines
    assert not long


def test_every_package_says_what_it_is_for_and_what_it_may_import():
    """Each package's __init__ docstring says what the package is for and what it may import."""
    missing = []
    for init in sorted((ROOT / "agentload").rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        if init.parent != ROOT / "agentload" and "May import" not in doc:
            missing.append(str(init.relative_to(ROOT)))
        elif len(doc.split()) < 12:
            missing.append(str(init.relative_to(ROOT)))
    assert not missing
