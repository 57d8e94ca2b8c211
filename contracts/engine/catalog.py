"""Every check the suite can run: its stable name, the suite that runs it, and what it means.

Names are stable: they appear in the console, the JUnit and JSON reports, ``--checks`` and
the pytest form, and tests key on them. Add new checks at the end of their suite.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHECKS", "CHECK_NAMES", "SUITES", "CheckInfo", "by_name", "checks_of"]


@dataclass(frozen=True)
class CheckInfo:
    """One named property of the API that the suite verifies."""

    name: str
    suite: str
    description: str


# Suites in the order a run executes them. The model goes early, while the account holds
# few trunks: it lists them after every step.
SUITES: dict[str, str] = {
    "auth": "requests without valid credentials are refused",
    "model": "a model of one organization compared with the target after every step",
    "secrets": "passwords sent by the run never come back",
    "isolation": "a second organization cannot see or touch this one's trunks",
    "sequences": "the delete cascade, and sequences along the spec's links (schemathesis)",
    "stateless": "generated valid and invalid requests for every operation (schemathesis)",
    "robustness": "bodies a careless parser chokes on: answered as the contract says, never 5xx",
}

_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "auth": {
        "auth_required": "no key, a wrong scheme or an unknown key: 401 with WWW-Authenticate: Bearer",
    },
    "model": {
        "create_answers_trunk": "a valid POST is 201 with the trunk as sent (no password) and a fresh id",
        "port_defaults_to_5060": "a trunk created without a port has port 5060",
        "get_matches_create": "GET /sip-trunks/{id} returns exactly what the create returned",
        "list_matches_model": "the list, restricted to this run's trunks, equals the model, oldest first",
        "delete_removes_trunk": "DELETE is 204 with no body; then GET and a second DELETE are 404",
        "unknown_id_is_404": "GET or DELETE of an unknown or malformed id is 404",
        "unknown_trunk_is_422": "linking a phone number to a trunk that does not exist is 422",
        "phone_links_match_model": "every phone number's transfer_trunk_id equals the model (links, cascade)",
    },
    "secrets": {
        "password_never_returned": "no response (body or header, errors too) holds a password the run sent",
    },
    "isolation": {
        "isolation_list": "another organization's list never holds this organization's trunks",
        "isolation_get": "another organization gets 404 for this one's trunks and phone numbers",
        "isolation_delete": "another organization's DELETE is 404 and the trunk survives",
        "isolation_link": "another organization cannot link a phone number to this one's trunk (422)",
    },
    "sequences": {
        "delete_cascade": "create, link a phone number, delete the trunk: its transfer_trunk_id is null",
        "use_after_free": "after a DELETE along the links, the trunk is gone (404)",
        "ensure_resource_availability": "a created trunk can be read back by the id in the answer",
    },
    # schemathesis's built-in checks, then ours (contracts.suites.checks), on every generated request.
    "stateless": {
        "not_a_server_error": "no 5xx answer and no dropped connection, whatever the input",
        "status_code_conformance": "every status code is one the spec documents for the operation",
        "content_type_conformance": "the Content-Type is the one documented for the status",
        "response_headers_conformance": "documented headers present and valid (Location, WWW-Authenticate)",
        "response_schema_conformance": "every body matches its schema (no extra property such as a password)",
        "negative_data_rejection": "invalid input (schema-breaking or malformed bodies) is refused: 4xx",
        "positive_data_acceptance": "valid input is accepted: 2xx, or the 404/409/422 the spec documents",
        "missing_required_header": "a request without the Authorization header is 401",
        "ignored_auth": "an operation that needs auth refuses a missing or invalid token",
        "unsupported_method": "a method the path does not have is 405",
        "allow_header_conformance": "a 405 carries an Allow header listing exactly the path's methods",
        "problem_details": "every 4xx/5xx is application/problem+json; its status matches the response",
        "location_header": "a 201 from POST /sip-trunks has Location: /sip-trunks/{id} of the new trunk",
    },
    "robustness": {
        "media_type_case_insensitive": "a create sent as Application/JSON or with a charset: 201 + the trunk",
        "odd_json_is_4xx": "JSON nested 30000 deep, bad UTF-8, 1e400, NaN, a cut-short body: 4xx, never 5xx",
    },
}

CHECKS: tuple[CheckInfo, ...] = tuple(
    CheckInfo(name, suite, description)
    for suite, checks in _DESCRIPTIONS.items()
    for name, description in checks.items()
)
CHECK_NAMES: tuple[str, ...] = tuple(info.name for info in CHECKS)
_BY_NAME = {info.name: info for info in CHECKS}


def by_name(name: str) -> CheckInfo:
    """The check called ``name``; ``KeyError`` if there is none."""
    return _BY_NAME[name]


def checks_of(suite: str) -> tuple[str, ...]:
    """The names of the checks a suite runs, in catalog order."""
    return tuple(info.name for info in CHECKS if info.suite == suite)
