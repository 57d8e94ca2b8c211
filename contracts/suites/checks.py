"""Custom schemathesis checks: rules of the contract that the built-in checks cannot see.

Each is one function registered with ``@schemathesis.check``; its name is the check's name
in output, ``--checks`` and reports. A check fails by raising ``AssertionError`` with
"expected …, got …" and never prints.
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis
from schemathesis import Case, CheckContext, Response

from contracts.secrets import SecretBook, active_book, json_members

__all__ = ["CUSTOM_CHECKS", "location_header", "password_never_returned", "problem_details"]

_PROBLEM_FIELDS = ("type", "title", "status", "detail")
_TRUNK_LOCATION = re.compile(r"^/sip-trunks/(?P<id>[^/?#]+)$")


@schemathesis.check
def password_never_returned(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """No response holds a password sent by the run (this request's included), in any form."""
    book = active_book() or SecretBook(nonce="standalone")
    body = case.body if isinstance(case.body, dict) else {}
    if "password" in body:
        book.remember(body["password"], beside=[value for key, value in body.items() if key != "password"])
    headers = [(name, value) for name, values in response.headers.items() for value in values]
    leak = book.find(headers, response.content or b"")
    if leak is not None:
        raise AssertionError(f"expected no password in the response, got {leak.describe()}")
    # schemathesis may send strings seen in responses as passwords: such a string is no secret.
    book.note_public(_strings(response))
    return None


@schemathesis.check
def problem_details(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every 4xx/5xx is an RFC 9457 problem whose ``status`` is the response's status code."""
    if response.status_code < 400:
        return None
    media_type = _media_type(response)
    if media_type != "application/problem+json":
        raise AssertionError(
            f"expected an application/problem+json body for {response.status_code}, "
            f"got {media_type or 'no Content-Type'}"
        )
    try:
        problem: Any = json.loads(response.content)
    except ValueError:
        raise AssertionError(
            f"expected a JSON problem body for {response.status_code}, got text that is not JSON"
        ) from None
    if not isinstance(problem, dict):
        raise AssertionError(f"expected a JSON object as problem body, got {type(problem).__name__}")
    missing = [field for field in _PROBLEM_FIELDS if field not in problem]
    if missing:
        raise AssertionError(
            f"expected the problem fields {', '.join(_PROBLEM_FIELDS)}, got no {', '.join(missing)}"
        )
    if problem["status"] != response.status_code:
        raise AssertionError(f"expected problem status {response.status_code}, got {problem['status']!r}")
    return None


@schemathesis.check
def location_header(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A 201 from ``POST /sip-trunks`` has ``Location: /sip-trunks/{id}`` with the created id."""
    if case.method.upper() != "POST" or case.operation.path != "/sip-trunks" or response.status_code != 201:
        return None
    locations = response.headers.get("location") or []
    if len(locations) != 1:
        raise AssertionError(f"expected one Location header, got {len(locations)}")
    match = _TRUNK_LOCATION.match(locations[0])
    try:
        created_id = json.loads(response.content).get("id")
    except (ValueError, AttributeError):
        created_id = None
    if match is None or match["id"] != created_id:
        raise AssertionError(f"expected Location: /sip-trunks/{created_id}, got {locations[0]!r}")
    return None


def _strings(response: Response) -> list[str]:
    """The string values of a JSON body, at any depth."""
    return [value for _, value in json_members(response.content) if isinstance(value, str)]


def _media_type(response: Response) -> str:
    values = response.headers.get("content-type") or [""]
    return values[0].split(";")[0].strip().lower()


# The custom checks, by name, in the order they are reported.
CUSTOM_CHECKS = {
    check.__name__: check for check in (problem_details, location_header, password_never_returned)
}
