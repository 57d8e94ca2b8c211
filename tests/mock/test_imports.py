"""What importing the mock's modules pulls in: the store stays stdlib-only, the public API exists."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("connexion", "starlette", "click", "uvicorn", "yaml", "jsonschema", "httpx")


def imported_by(module: str) -> set[str]:
    """Top-level packages a fresh interpreter has loaded after ``import module``."""
    code = f"import sys, json; import {module}; print(json.dumps(sorted(sys.modules)))"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return {name.partition(".")[0] for name in json.loads(output.stdout)}


@pytest.mark.parametrize(
    "module",
    [
        "mockserver.domain.store",
        "mockserver.domain.vault",
        "mockserver.domain.interface",
        "mockserver.domain.memory",
        "mockserver.controls.panel",
        "mockserver.config",
    ],
)
def test_the_domain_imports_only_the_standard_library(module: str) -> None:
    assert imported_by(module).isdisjoint(HEAVY)


def test_the_in_memory_mock_never_loads_the_redis_store() -> None:
    # Its start-up must not pay for a store it does not use.
    code = (
        "import sys; from mockserver import MockConfig, create_app; create_app(MockConfig()); "
        "print(sorted(m for m in sys.modules if 'redis' in m))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert output.stdout.strip() == "[]"


def test_the_public_api() -> None:
    import mockserver
    from mockserver import (
        ConnectionDropped,
        MockConfig,
        RateLimit,
        RunningMock,
        Store,
        Vault,
        create_app,
        running_mock,
    )

    assert sorted(mockserver.__all__) == sorted(
        [
            "ConnectionDropped",
            "MockConfig",
            "RateLimit",
            "RunningMock",
            "Store",
            "Vault",
            "create_app",
            "running_mock",
        ]
    )
    assert issubclass(ConnectionDropped, ConnectionError)
    assert str(RateLimit(10, 1)) == "10/s"
    assert all(callable(thing) for thing in (MockConfig, RunningMock, Store, Vault, create_app, running_mock))
    with pytest.raises(AttributeError):
        mockserver.nothing_here  # noqa: B018


def test_every_module_has_a_docstring() -> None:
    import importlib
    import pkgutil

    import mockserver

    names = [info.name for info in pkgutil.walk_packages(mockserver.__path__, "mockserver.")]
    assert "mockserver.http.handlers.trunks" in names
    missing = [name for name in names if not (importlib.import_module(name).__doc__ or "").strip()]
    assert missing == []
