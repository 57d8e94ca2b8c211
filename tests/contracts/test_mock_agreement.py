"""Our check and our mock agree out of the box: against a mock that takes any key, the auth checks skip.

The mock says so in ``GET /__admin/health``; against anything that does not say so (a real
API's 404, another body) nothing changes.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from contracts.engine import core as engine
from contracts.engine.config import CheckConfig
from contracts.engine.core import ANY_KEY_REASON
from contracts.engine.events import RunFinished

from .helpers import TOKEN_A, statuses
from .mutants.harness import App, Receive, Scope, Send

AUTH_CHECKS = "auth_required,ignored_auth,missing_required_header"
SIP_TRUNKS = Path(sys.executable).with_name("sip-trunks")


@contextmanager
def any_key_mock(wrap: Callable[[App], App] | None = None) -> Iterator[str]:
    """The mock as `sip-trunks mock` starts it without --token, on a loopback port."""
    from mockserver import MockConfig, create_app, running_mock

    config = MockConfig(access_log=False)
    app = create_app(config)
    with running_mock(config, app=wrap(app) if wrap else app) as mock:
        yield str(mock.base_url)


def _run(base_url: str, checks: str = AUTH_CHECKS, token: str = "demo-key") -> RunFinished:
    config = CheckConfig.from_options(
        base_url=base_url, token=token, checks=checks, seed=1, max_examples=3, environ={}
    )
    *_, finished = engine.run(config)
    assert isinstance(finished, RunFinished)
    return finished


def test_against_a_mock_that_takes_any_key_the_checks_needing_one_refused_are_skipped() -> None:
    with any_key_mock() as base_url:
        finished = _run(base_url)
    assert statuses(finished) == {
        "auth_required": "skipped",
        "missing_required_header": "passed",  # a request with no key is still refused
        "ignored_auth": "skipped",
    }
    reasons = {result.name: result.skip_reason for result in finished.results}
    assert reasons["auth_required"] == reasons["ignored_auth"] == ANY_KEY_REASON
    assert ANY_KEY_REASON == (
        "the target is a sip-trunks mock that accepts any key; start it with --token to check authentication"
    )
    assert finished.failures == () and finished.exit_code == 0


def test_a_mock_started_with_tokens_is_checked_in_full(serve: Callable[..., str]) -> None:
    finished = _run(serve(), token=TOKEN_A)
    assert set(statuses(finished).values()) == {"passed"}


def _health_answered(status: int, body: bytes) -> Callable[[App], App]:
    """The app, but ``GET /__admin/health`` answers ``status`` and ``body``, as another server might."""

    def wrap(app: App) -> App:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"] == "/__admin/health":
                await send({"type": "http.response.start", "status": status, "headers": []})
                await send({"type": "http.response.body", "body": body})
                return
            await app(scope, receive, send)

        return wrapped

    return wrap


@pytest.mark.parametrize(
    ("status", "body"),
    [(404, b'{"title": "Not Found"}'), (200, b'{"status": "ok"}'), (200, b'{"accepts_any_key": "yes"}'),
     (200, b"<html>ok</html>")],
    ids=["404-of-a-real-api", "no-field", "not-true", "not-json"],
)  # fmt: skip
def test_against_anything_else_nothing_changes(status: int, body: bytes) -> None:
    # A server that takes any key but does not say it is a sip-trunks mock fails the auth checks.
    with any_key_mock(_health_answered(status, body)) as base_url:
        finished = _run(base_url, checks="auth_required")
    assert statuses(finished) == {"auth_required": "failed"}
    assert finished.exit_code == 1


def _under_prefix(prefix: str) -> Callable[[App], App]:
    """The app behind a reverse proxy that maps ``prefix`` to its root; nothing else is served."""

    def wrap(app: App) -> App:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "")
            if scope["type"] == "http" and not path.startswith(prefix + "/"):
                await send({"type": "http.response.start", "status": 404, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
            if scope["type"] == "http":
                scope = {**scope, "path": path[len(prefix) :], "raw_path": path[len(prefix) :].encode()}
            await app(scope, receive, send)

        return wrapped

    return wrap


def test_the_mock_is_asked_under_the_base_url_path_prefix_included() -> None:
    with any_key_mock(_under_prefix("/v1")) as base_url:
        finished = _run(f"{base_url}/v1", checks="auth_required")
    assert statuses(finished) == {"auth_required": "skipped"}


@contextmanager
def _mock_command() -> Iterator[str]:
    """`sip-trunks mock` as a user starts it (no --token), on a free port; yields its URL."""
    env = {"PATH": str(SIP_TRUNKS.parent), "PYTHONUNBUFFERED": "1", "HOME": os.environ.get("HOME", "/tmp")}
    process = subprocess.Popen(
        [str(SIP_TRUNKS), "mock", "--port", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        first = ""
        while not first and time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                first = process.stdout.readline()
        url = first.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), first
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/__admin/health", timeout=5)
                break
            except httpx.ConnectError:
                time.sleep(0.05)  # the banner is printed just before uvicorn binds
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_sip_trunks_mock_then_check_with_any_token_is_conformant(state_dir: Path) -> None:
    # The two terminals: `sip-trunks mock`, then `sip-trunks check --base-url URL --token demo-key`.
    with _mock_command() as url:
        done = subprocess.run(
            [str(SIP_TRUNKS), "check", "--base-url", url, "--token", "demo-key", "--seed", "1",
             "--max-examples", "3"],
            capture_output=True, text=True, timeout=240,
            env={**os.environ, "SIP_TRUNKS_STATE_DIR": str(state_dir)},
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    table = {line.split()[0]: line for line in done.stdout.splitlines() if line and " " in line}
    assert table["auth_required"].endswith(f"skipped: {ANY_KEY_REASON}")
    assert table["ignored_auth"].endswith(f"skipped: {ANY_KEY_REASON}")
    assert "CONFORMANT: 32 checks" in done.stdout and "NOT CONFORMANT" not in done.stdout
    assert "demo-key" not in done.stdout + done.stderr
