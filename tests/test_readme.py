"""The README is the sum of the parts' docs: it must not drift from them."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT


def test_readme_is_built_from_the_current_docs():
    done = subprocess.run(
        [sys.executable, "scripts/build_readme.py", "--check"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_readme_opens_with_the_two_commands_a_new_user_needs():
    head = (ROOT / "README.md").read_text().split("## ", 1)[0]
    assert head.index("make smoke") < head.index("make test")
