"""The suite reaches its target only over HTTP: nothing but the composition root imports the mock."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import contracts

PACKAGE = Path(contracts.__file__).parent
# The CLI's `check` starts the embedded mock when no --base-url is given; nothing else may.
COMPOSITION_ROOT = PACKAGE / "cli.py"


def test_only_the_composition_root_mentions_the_mock_in_an_import() -> None:
    importers = [
        path.relative_to(PACKAGE).as_posix()
        for path in sorted(PACKAGE.rglob("*.py"))
        if any(
            line.strip().startswith(("import mockserver", "from mockserver"))
            for line in path.read_text(encoding="utf-8").splitlines()
        )
    ]
    assert importers == [COMPOSITION_ROOT.name]


def test_importing_every_module_leaves_the_mock_unloaded() -> None:
    modules = sorted(
        info.name
        for info in pkgutil.walk_packages(contracts.__path__, prefix="contracts.")
        if info.name not in ("contracts.conftest", "contracts.test_conformance")
    )
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'mockserver')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
    assert "contracts.cli" in modules and "contracts.report.console" in modules
