"""The engine: reasons it cannot run, the shape of its event stream, masking and de-duplication."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from contracts.engine import core as engine
from contracts.engine.config import CheckConfig
from contracts.engine.core import _Results
from contracts.engine.events import (
    Failure,
    FailureFound,
    RunFinished,
    RunStarted,
    SuiteFinished,
    SuiteStarted,
)
from contracts.errors import InvalidSpec, TargetUnreachable, UsageError

from .conftest import RunChecks
from .helpers import TOKEN_A, TOKEN_B
from .mutants.protocol import AuthNotEnforced


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(**options: object) -> list[object]:
    return list(engine.run(CheckConfig.from_options(checks="auth", seed=1, environ={}, **options)))  # type: ignore[arg-type]


def test_an_unreachable_target_is_a_reason_not_to_run() -> None:
    with pytest.raises(TargetUnreachable, match=r"^cannot reach http://127.0.0.1:\d+: ConnectError"):
        _run(base_url=f"http://127.0.0.1:{_closed_port()}", token=TOKEN_A)


def test_a_refused_key_is_a_reason_not_to_run_and_is_never_shown(serve: Callable[..., str]) -> None:
    base_url = serve()
    with pytest.raises(
        TargetUnreachable, match=r"refused --token \(401 on GET /sip-trunks\); check the API key"
    ):
        _run(base_url=base_url, token="tok-nobody-knows")
    with pytest.raises(TargetUnreachable, match="refused --second-token"):
        _run(base_url=base_url, token=TOKEN_A, second_token="tok-nobody-knows")


def test_a_spec_that_cannot_be_read_is_a_reason_not_to_run(tmp_path: Path, serve: Callable[..., str]) -> None:
    broken = tmp_path / "spec.yaml"
    broken.write_text("openapi: [", encoding="utf-8")
    config = CheckConfig.from_options(base_url=serve(), token=TOKEN_A, environ={}).replace(spec_path=broken)
    with pytest.raises(InvalidSpec, match="cannot read the spec"):
        list(engine.run(config))


def test_the_engine_needs_a_url_and_a_key() -> None:
    with pytest.raises(UsageError, match="needs a base URL and a token"):
        list(engine.run(CheckConfig()))


def test_the_stream_starts_and_ends_once_and_brackets_each_suite(
    serve: Callable[..., str], run_checks: RunChecks
) -> None:
    finished, events = run_checks(serve(), "auth_required,isolation_get")
    assert isinstance(events[0], RunStarted)
    assert events[-1] is finished
    suites = [(type(e).__name__, e.suite) for e in events if isinstance(e, SuiteStarted | SuiteFinished)]
    assert suites == [
        ("SuiteStarted", "auth"),
        ("SuiteFinished", "auth"),
        ("SuiteStarted", "isolation"),
        ("SuiteFinished", "isolation"),
    ]
    assert [result.name for result in finished.results] == ["auth_required", "isolation_get"]


def test_no_event_ever_holds_an_api_key(serve: Callable[..., str], run_checks: RunChecks) -> None:
    finished, events = run_checks(serve(lambda app: AuthNotEnforced(app, token=TOKEN_A)), "auth,stateless")
    assert finished.failures
    text = repr(events)
    assert TOKEN_A not in text and TOKEN_B not in text
    assert '"Authorization: Bearer $TOKEN"' in text


def test_a_failure_is_shown_once_however_often_it_happens() -> None:
    config = CheckConfig.from_options(checks="auth_required", environ={})
    results = _Results(config)
    failure = FailureFound(
        Failure(check="auth_required", operation="GET /x", message="expected 401, got 200")
    )
    assert results.add(failure) is True
    assert results.add(failure) is False
    (result,) = results.finish()
    assert (result.name, result.status, result.failed) == ("auth_required", "failed", 1)
    assert isinstance(
        RunFinished(results=(result,), failures=(failure.failure,), elapsed=0, seed=0).exit_code, int
    )


def test_failures_show_no_password_the_run_sent(serve: Callable[..., str], run_checks: RunChecks) -> None:
    from contracts.secrets import SecretBook

    from .mutants.leaks import LeakPasswordOnCreate

    # The mutant echoes each password in the 201: messages and reproductions show *** instead.
    base_url = serve(lambda app: LeakPasswordOnCreate(app))
    finished, _ = run_checks(base_url, "password_never_returned,response_schema_conformance", seed=3)
    assert {failure.check for failure in finished.failures} == {
        "password_never_returned",
        "response_schema_conformance",
    }
    texts = [text for f in finished.failures for text in (f.operation, f.message, f.replay, *f.steps)]
    marker = SecretBook.for_seed(3).marker  # every password the run makes starts with it
    assert not any(marker in text for text in texts)
    assert any('"password": "***"' in step for failure in finished.failures for step in failure.steps)
