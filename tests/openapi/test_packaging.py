"""The spec must be found from an installed wheel, not only from a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def wheel(built_wheel: Path) -> Path:
    """The project's wheel (built once per session by tests/conftest.py)."""
    return built_wheel


def test_wheel_contains_the_spec_and_the_three_packages(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "sip_trunks_openapi/sip-trunks.yaml" in names
    for module in (
        "sip_trunks_openapi/cli.py",
        "mockserver/__init__.py",
        "mockserver/http/handlers/__init__.py",
        "mockserver/http/admin.yaml",
        "contracts/__init__.py",
        # The HTML report's style and script, inlined into every page.
        "contracts/report/report.css",
        "contracts/report/report.js",
    ):
        assert module in names
    # Every module of the two packages ships: a subpackage left out of pyproject.toml fails here.
    root = Path(__file__).resolve().parents[2]
    for package in ("mockserver", "contracts"):
        modules = {path.relative_to(root).as_posix() for path in (root / package).rglob("*.py")}
        assert modules - set(names) == set()
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "sip-trunks = sip_trunks_openapi.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_finds_and_validates_its_spec(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    # Run from an empty folder so nothing of the checkout can be found by accident.
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-c", "from sip_trunks_openapi.cli import main; main(['spec'])"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    spec_path = Path(result.stdout.splitlines()[0])
    assert spec_path == target / "sip_trunks_openapi" / "sip-trunks.yaml"
    assert "valid OpenAPI 3.0.3 document" in result.stdout
