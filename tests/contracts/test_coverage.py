"""API coverage: paths matched to the spec's templates, statuses to its responses, both clients counted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from contracts.engine.config import CheckConfig
from contracts.engine.coverage import CoverageRecorder, PathMatcher, response_key
from contracts.engine.events import Coverage, OperationCoverage, RunFinished
from contracts.http.client import Target
from contracts.safety.guard import Guard
from contracts.safety.guarded import GuardedTransport
from contracts.safety.ledger import FIRST, Ledger
from sip_trunks_openapi import load_spec

from .conftest import RunChecks
from .helpers import TOKEN_A, case


def test_concrete_paths_match_before_templated_ones() -> None:
    matcher = PathMatcher(["/items/{id}", "/items/mine", "/items", "/items/{id}/parts/{part}"])
    assert matcher.match("/items/mine") == "/items/mine"
    assert matcher.match("/items/3f9a") == "/items/{id}"
    assert matcher.match("/items/3f9a?expand=1") == "/items/{id}"
    assert matcher.match("/items/a%2Fb") == "/items/{id}"  # an encoded slash stays in its segment
    assert matcher.match("/items/a/parts/b") == "/items/{id}/parts/{part}"
    assert matcher.match("/items/") is None  # an empty id names no operation
    assert matcher.match("/items/a/b") is None
    assert matcher.match("/__admin/health") is None


def test_a_status_is_documented_by_its_code_else_its_range_else_default() -> None:
    assert response_key(("200", "4XX", "default"), 200) == "200"
    assert response_key(("200", "4XX", "default"), 404) == "4XX"
    assert response_key(("200", "4XX", "default"), 503) == "default"
    assert response_key(("200", "404"), 500) is None


def test_the_recorder_lists_every_operation_with_documented_observed_and_undocumented() -> None:
    recorder = CoverageRecorder(load_spec())
    for method, path, status in [
        ("GET", "/sip-trunks", 200),
        ("get", "/sip-trunks", 200),
        ("GET", "/sip-trunks/6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f", 404),
        ("GET", "/sip-trunks/x", 500),  # not documented: a defect the report shows
        ("PUT", "/sip-trunks", 405),  # no such operation: left out
        ("GET", "/__admin/health", 200),  # not in the spec: left out
        ("POST", "/sip-trunks", 0),  # no answer: no status
    ]:
        recorder.record(method, path, status)
    coverage = recorder.coverage()
    assert [operation.operation for operation in coverage.operations] == [
        "GET /sip-trunks",
        "POST /sip-trunks",
        "GET /sip-trunks/{id}",
        "DELETE /sip-trunks/{id}",
        "GET /phone-numbers",
        "GET /phone-numbers/{id}",
        "PATCH /phone-numbers/{id}",
    ]
    listing, _, get, *_ = coverage.operations
    assert listing == OperationCoverage(
        "GET /sip-trunks", ("200", "400", "401", "429", "503"), observed=("200",), undocumented=()
    )
    assert (get.observed, get.undocumented) == (("404",), ("500",))
    assert coverage.documented == 45 and coverage.observed == 2
    assert coverage.line == (
        "coverage: 2/7 operations, 2/45 documented responses (4.4%), undocumented: GET /sip-trunks/{id} 500"
    )


@pytest.mark.parametrize(
    ("observed", "documented", "shown"),
    [(0, 10, "0%"), (1, 1000, "0.1%"), (999, 1000, "99.9%"), (1, 3, "33.3%"), (10, 10, "100%")],
)
def test_the_percentage_never_rounds_to_0_or_100_when_it_is_not(
    observed: int, documented: int, shown: str
) -> None:
    operation = OperationCoverage(
        "GET /x", tuple(str(n) for n in range(documented)), tuple(str(n) for n in range(observed))
    )
    assert Coverage((operation,)).line.endswith(f"({shown})")


def test_the_bar_is_met_at_exactly_the_percentage() -> None:
    coverage = Coverage((OperationCoverage("GET /x", ("200", "401", "404", "500"), ("200", "401", "404")),))
    assert not coverage.below(75) and coverage.below(75.01)
    assert coverage.missing == (("GET /x", "500"),)
    finished = RunFinished(results=(), failures=(), elapsed=1.0, seed=1, coverage=coverage)
    assert (finished.verdict, finished.exit_code) == ("CONFORMANT", 0)
    gated = RunFinished(results=(), failures=(), elapsed=1.0, seed=1, coverage=coverage, min_coverage=80)
    assert (gated.verdict, gated.exit_code) == ("COVERAGE TOO LOW", 1)
    met = RunFinished(results=(), failures=(), elapsed=1.0, seed=1, coverage=coverage, min_coverage=75)
    assert (met.verdict, met.exit_code) == ("CONFORMANT", 0)


def _guard(answers: list[tuple[str, str, int]]) -> Guard:
    def record(method: str, path: str, status: int) -> None:
        answers.append((method, path, status))

    return Guard(Ledger("0badc0de"), {"key-1": FIRST}, sleep=lambda _: None, on_answer=record)


def test_our_client_reports_every_answer_429s_waited_out_included() -> None:
    statuses = iter([429, 201])

    def respond(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        headers = {"Retry-After": "0"} if status == 429 else {}
        return httpx.Response(status, headers=headers, json={"id": "x", "name": "n"})

    answers: list[tuple[str, str, int]] = []
    target = Target(
        "http://127.0.0.1:9", "key-1", transport=httpx.MockTransport(respond), guard=_guard(answers)
    )
    assert target.request("c", "POST", "/sip-trunks", json_body={"name": "n"}).status == 201
    assert answers == [("POST", "/sip-trunks", 429), ("POST", "/sip-trunks", 201)]


class _Answer:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, list[str]] = {"retry-after": ["0"]} if status == 429 else {}
        self.content = b""


class _Inner:
    """Schemathesis's transport as the guarded one sees it: answers 429, then 404."""

    def __init__(self) -> None:
        self.statuses = iter([429, 404])

    def send(self, case: Any, **kwargs: Any) -> _Answer:
        return _Answer(next(self.statuses))


def test_schemathesis_requests_report_every_answer_429s_waited_out_included() -> None:
    answers: list[tuple[str, str, int]] = []
    transport = GuardedTransport(_Inner(), _guard(answers))
    generated = case("GET", "/sip-trunks/{id}", path_parameters={"id": "abc"})
    assert transport.send(generated).status_code == 404
    assert answers == [("GET", "/sip-trunks/abc", 429), ("GET", "/sip-trunks/abc", 404)]


def _observed(finished: RunFinished) -> dict[str, tuple[str, ...]]:
    assert finished.coverage is not None
    return {operation.operation: operation.observed for operation in finished.coverage.operations}


def test_a_run_covers_what_our_suites_sent(serve: Callable[..., str], run_checks: RunChecks) -> None:
    # The auth suite sends every operation with bad credentials through our own client; the
    # probe's GET /sip-trunks and the snapshot's GET /phone-numbers count too.
    finished, _ = run_checks(serve(), "auth_required", second_token=None)
    observed = _observed(finished)
    assert observed["GET /sip-trunks"] == ("200", "401")
    assert observed["GET /phone-numbers"] == ("200", "401")
    assert observed["DELETE /sip-trunks/{id}"] == ("401",)


def test_a_run_covers_what_schemathesis_sent(serve: Callable[..., str], run_checks: RunChecks) -> None:
    finished, _ = run_checks(serve(), "not_a_server_error", second_token=None, max_examples=3)
    observed = _observed(finished)
    assert {"201", "400", "415"} <= set(observed["POST /sip-trunks"])
    assert "404" in observed["GET /sip-trunks/{id}"]


def test_the_cleanup_is_no_coverage(serve: Callable[..., str], run_checks: RunChecks) -> None:
    from mockserver.client import AdminClient

    base_url = serve()
    # The secrets suite deletes the one trunk it creates; that DELETE fails once here, so the
    # trunk is left to the cleanup, whose 204 is checked by nothing and is no coverage.
    with AdminClient(base_url) as admin:
        admin.inject("DELETE /sip-trunks/{id} status=503 times=1")
    finished, _ = run_checks(base_url, "password_never_returned", second_token=None)
    assert finished.cleanup is not None and len(finished.cleanup.deleted) == 1
    assert _observed(finished)["DELETE /sip-trunks/{id}"] == ("503",)
    assert "201" in _observed(finished)["POST /sip-trunks"]


def test_min_coverage_fails_a_conformant_run_under_the_bar(serve: Callable[..., str]) -> None:
    config = CheckConfig.from_options(
        base_url=serve(), token=TOKEN_A, checks="auth_required", seed=1, min_coverage="50", environ={}
    )
    from contracts.engine import core

    *_, finished = core.run(config)
    assert isinstance(finished, RunFinished)
    assert finished.failures == () and finished.min_coverage == 50.0
    assert (finished.verdict, finished.exit_code) == ("COVERAGE TOO LOW", 1)
