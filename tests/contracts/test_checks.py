"""The custom schemathesis checks, each on one passing and one failing hand-built response."""

from __future__ import annotations

import json
import re

import pytest

from contracts.secrets import SecretBook, activate
from contracts.suites.checks import location_header, password_never_returned, problem_details

from .helpers import case, check_context, response

TRUNK = {
    "id": "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f",
    "name": "Main Trunk",
    "host": "sip.provider.com",
    "port": 5060,
    "username": "myuser",
    "created_at": "2025-12-13T10:00:00.000Z",
}
PROBLEM = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "No SIP trunk with this id"}
CREATE = {
    "name": "Main Trunk",
    "host": "sip.provider.com",
    "username": "myuser",
    "password": "Zq8#générée!",
}


def test_password_never_returned_passes_a_trunk_without_the_password() -> None:
    sent = case("POST", "/sip-trunks", body=CREATE)
    assert password_never_returned(check_context(), response(201, json.dumps(TRUNK)), sent) is None


def test_password_never_returned_fails_when_the_answer_echoes_the_generated_password() -> None:
    sent = case("POST", "/sip-trunks", body=CREATE)
    leaked = response(201, json.dumps({**TRUNK, "secret": CREATE["password"]}))
    with pytest.raises(
        AssertionError, match=r"^expected no password in the response, got the JSON-escaped text"
    ):
        password_never_returned(check_context(), leaked, sent)


def test_password_never_returned_finds_the_runs_own_passwords_in_headers() -> None:
    book = SecretBook(nonce="t3st")
    password = book.new_password()
    leaked = response(404, json.dumps(PROBLEM), {"X-Debug": password.split(" ")[0]})
    with activate(book), pytest.raises(AssertionError, match="in the response header x-debug"):
        password_never_returned(check_context(), leaked, case("GET", "/sip-trunks"))


def test_problem_details_passes_a_problem_whose_status_matches() -> None:
    answer = response(404, json.dumps(PROBLEM), {"Content-Type": "application/problem+json"})
    assert problem_details(check_context(), answer, case("GET", "/sip-trunks/{id}")) is None


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        (
            "application/json",
            PROBLEM,
            "expected an application/problem+json body for 404, got application/json",
        ),
        ("application/problem+json", {**PROBLEM, "status": 400}, "expected problem status 404, got 400"),
        ("application/problem+json", {"title": "Not Found"}, "got no type, status, detail"),
    ],
    ids=["plain-json", "status-mismatch", "fields-missing"],
)
def test_problem_details_fails_a_4xx_that_is_not_a_matching_problem(
    content_type: str, body: dict[str, object], message: str
) -> None:
    answer = response(404, json.dumps(body), {"Content-Type": content_type})
    with pytest.raises(AssertionError, match=re.escape(message)):
        problem_details(check_context(), answer, case("GET", "/sip-trunks/{id}"))


def test_location_header_passes_the_path_of_the_created_trunk() -> None:
    created = response(201, json.dumps(TRUNK), {"Location": f"/sip-trunks/{TRUNK['id']}"}, method="POST")
    assert location_header(check_context(), created, case("POST", "/sip-trunks", body=CREATE)) is None


def test_location_header_fails_a_location_of_another_trunk() -> None:
    created = response(201, json.dumps(TRUNK), {"Location": "/sip-trunks/0"}, method="POST")
    with pytest.raises(
        AssertionError, match=r"expected Location: /sip-trunks/6f1c2d3e-.*, got '/sip-trunks/0'"
    ):
        location_header(check_context(), created, case("POST", "/sip-trunks", body=CREATE))
