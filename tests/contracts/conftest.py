"""Fixtures of the suite's tests: a fresh embedded mock per test, and a way to run the engine on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.engine import core as engine
from contracts.engine.config import STATE_DIR_ENV, CheckConfig
from contracts.engine.events import Event, RunFinished

from .helpers import TOKEN_A, TOKEN_B

RunChecks = Callable[..., tuple[RunFinished, list[Event]]]


def pytest_configure(config: pytest.Config) -> None:
    # connexion (3.3) imports starlette's test client and jsonschema's RefResolver at import
    # time; their deprecation warnings are not ours to fix.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:connexion.*")
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture(autouse=True)
def state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run ledgers of runs against a URL go to a fresh directory, never the developer's ~/.local/state.

    HOME moves too: a config built with ``environ={}`` falls back to ``~/.local/state``.
    """
    path = tmp_path_factory.mktemp("state") / "runs"
    monkeypatch.setenv(STATE_DIR_ENV, str(path))
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    return path


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Start a mock (optionally wrapped by a mutant) on a loopback port; returns its base URL."""
    from contextlib import ExitStack

    from mockserver import MockConfig, create_app, running_mock

    with ExitStack() as stack:

        def start(mutant: Callable[[Any], Any] | None = None, **settings: Any) -> str:
            config = MockConfig(tokens=(TOKEN_A, TOKEN_B), access_log=False, **settings)
            app = create_app(config)
            mock = stack.enter_context(running_mock(config, app=mutant(app) if mutant else app))
            return str(mock.base_url)

        yield start


@pytest.fixture
def run_checks() -> RunChecks:
    """Run the engine on a URL for some checks; returns the final event and all events."""

    def run(base_url: str, checks: str, *, max_examples: int = 5, seed: int = 1, **options: Any) -> Any:
        options.setdefault("second_token", TOKEN_B)
        config = CheckConfig.from_options(
            base_url=base_url, token=TOKEN_A, checks=checks, max_examples=max_examples, seed=seed, **options
        )
        events = list(engine.run(config))
        finished = events[-1]
        assert isinstance(finished, RunFinished)
        return finished, events

    return run
