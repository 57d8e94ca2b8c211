"""The proxy's shortcuts in judging one answer give the suite's verdicts, message for message.

``Spec.check_answer`` remembers verdicts that depend on little (status, Content-Type, the
documented headers), shares its parse of the body with schemathesis and skips the schema
check when the check's own validator finds the body valid. Each answer here is judged by it
twice (the second time from what it remembered) and by the suite's checks run plainly, on a
fresh response: the findings must be the same.
"""

from __future__ import annotations

import gzip
import json

import pytest
from schemathesis import Response

from contracts.proxy.exchange import Exchange, Request
from contracts.proxy.exchange_checks import _ANSWER_CHECKS, Spec, _failures

TRUNK = {
    "id": "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f",
    "name": "Main Trunk",
    "host": "sip.provider.com",
    "port": 5060,
    "username": "myuser",
    "created_at": "2025-12-13T10:00:00.000Z",
}
BY_ID = f"/sip-trunks/{TRUNK['id']}"
JSON = [("content-type", "application/json")]
PROBLEM = [("content-type", "application/problem+json")]
NOT_FOUND = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "No such trunk"}
LIMITS = [("x-ratelimit-limit", "100"), ("x-ratelimit-reset", "30")]
SENT = {
    "name": "Main Trunk",
    "host": "sip.provider.com",
    "username": "myuser",
    "password": "s3cret-Pass-2026",
}

# (method, path, status, headers, body): answers that pass and answers that break each check.
ANSWERS: dict[str, tuple[str, str, int, list[tuple[str, str]], bytes]] = {
    "a trunk": ("GET", BY_ID, 200, JSON, json.dumps(TRUNK).encode()),
    "a trunk, charset given": (
        "GET",
        BY_ID,
        200,
        [("content-type", "application/json; charset=utf-8")],
        json.dumps(TRUNK).encode(),
    ),
    "a port as text": ("GET", BY_ID, 200, JSON, json.dumps({**TRUNK, "port": "5060"}).encode()),
    "created_at without ms": (
        "GET",
        BY_ID,
        200,
        JSON,
        json.dumps({**TRUNK, "created_at": "2025-12-13T10:00:00Z"}).encode(),
    ),
    "no Content-Type": ("GET", BY_ID, 200, [], json.dumps(TRUNK).encode()),
    "text/plain": ("GET", BY_ID, 200, [("content-type", "text/plain")], json.dumps(TRUNK).encode()),
    "a malformed media type": ("GET", BY_ID, 200, [("content-type", "json")], json.dumps(TRUNK).encode()),
    "not JSON": ("GET", BY_ID, 200, JSON, b"{'id': 1"),
    "a lone surrogate": ("GET", BY_ID, 200, JSON, json.dumps(TRUNK).replace("Main", "\\ud800").encode()),
    "a byte order mark": ("GET", BY_ID, 200, JSON, b"\xef\xbb\xbf" + json.dumps(TRUNK).encode()),
    "gzip": (
        "GET",
        BY_ID,
        200,
        [*JSON, ("content-encoding", "gzip")],
        gzip.compress(json.dumps(TRUNK).encode()),
    ),
    "a list": ("GET", "/sip-trunks", 200, JSON, json.dumps({"trunks": [TRUNK]}).encode()),
    "a list, limits given": (
        "GET",
        "/sip-trunks",
        200,
        [*JSON, *LIMITS, ("x-ratelimit-remaining", "7")],
        b'{"trunks": []}',
    ),
    "a list, a limit not a number": (
        "GET",
        "/sip-trunks",
        200,
        [*JSON, *LIMITS, ("x-ratelimit-remaining", "many")],
        b'{"trunks": []}',
    ),
    "a 404 problem": ("GET", BY_ID, 404, PROBLEM, json.dumps(NOT_FOUND).encode()),
    "a 404 as plain JSON": ("GET", BY_ID, 404, JSON, json.dumps(NOT_FOUND).encode()),
    "a 404 problem without its status": (
        "GET",
        BY_ID,
        404,
        PROBLEM,
        json.dumps({"title": "Not Found"}).encode(),
    ),
    "a 201": ("POST", "/sip-trunks", 201, [*JSON, ("location", BY_ID)], json.dumps(TRUNK).encode()),
    "a 201 without Location": ("POST", "/sip-trunks", 201, JSON, json.dumps(TRUNK).encode()),
    "a 201 with a wrong Location": (
        "POST",
        "/sip-trunks",
        201,
        [*JSON, ("location", "/trunks/1")],
        json.dumps(TRUNK).encode(),
    ),
    "an undocumented status": ("GET", BY_ID, 418, JSON, b"{}"),
}


def _plainly(spec: Spec, exchange: Exchange) -> list[tuple[str, str]]:
    """The suite's checks on a fresh response: no memory, no shared parse, no shortcut."""
    operation = spec.operation(exchange.request.method, exchange.request.path)
    assert operation is not None
    headers: dict[str, list[str]] = {}
    for name, value in exchange.headers:
        headers.setdefault(name.lower(), []).append(value)
    response = Response(
        status_code=exchange.status,
        headers=headers,
        content=exchange.text_body,
        request=spec._request(exchange.request.method, operation.path),
        elapsed=0.0,
        verify=True,
    )
    case = operation.Case()
    return [
        (name, message)
        for name, check in _ANSWER_CHECKS
        for message in _failures(check, spec._context, response, case)
    ]


def _exchange(answer: tuple[str, str, int, list[tuple[str, str]], bytes]) -> Exchange:
    method, path, status, headers, body = answer
    sent = json.dumps(SENT).encode() if method == "POST" else b""
    request_headers = [("authorization", "Bearer k"), *(JSON if sent else [])]
    request = Request(method=method, path=path, query="", headers=request_headers, body=sent)
    return Exchange(request, status, list(headers), body)


def _judged(spec: Spec, answer: tuple[str, str, int, list[tuple[str, str]], bytes]) -> list[tuple[str, str]]:
    exchange = _exchange(answer)
    operation = spec.operation(exchange.request.method, exchange.request.path)
    assert operation is not None
    names = {name for name, _ in _ANSWER_CHECKS}
    found = spec.check_answer(exchange, operation, [])
    return [(finding.check, finding.detail) for finding in found if finding.check in names]


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec()


@pytest.mark.parametrize("name", list(ANSWERS))
def test_each_answer_gets_the_suites_verdict_first_time_and_from_memory(spec: Spec, name: str) -> None:
    answer = ANSWERS[name]
    expected = _plainly(spec, _exchange(answer))
    assert _judged(spec, answer) == expected
    assert _judged(spec, answer) == expected  # remembered verdicts, validators already compiled


def test_the_answers_cover_a_pass_and_a_failure_of_each_shortcut(spec: Spec) -> None:
    failing: dict[str, set[str]] = {}
    for name, answer in ANSWERS.items():
        for check, _ in _judged(spec, answer):
            failing.setdefault(check, set()).add(name)
    for check in ("response_schema_conformance", "response_headers_conformance", "content_type_conformance"):
        assert failing.get(check), f"no answer here breaks {check}"
    assert not _judged(spec, ANSWERS["a trunk"]) and not _judged(spec, ANSWERS["a list, limits given"])
