"""Every rule the proxy applies, by side: the client's own checks, then the suite's checks it reuses.

Server-side rules carry the names of the suite's checks (``contracts.engine.catalog``), so a
violation seen in traffic and a failure of ``sip-trunks check`` read the same.
"""

from __future__ import annotations

from contracts.engine.catalog import by_name

__all__ = ["CLIENT_CHECKS", "SERVER_CHECKS", "describe"]

# Rules of the request: the suite never breaks them on purpose except in negative tests.
CLIENT_CHECKS: dict[str, str] = {
    "known_operation": "the method and path are an operation of the spec",
    "bearer_credentials": "the request carries Authorization: Bearer <api key>",
    "request_parameters": "no query parameter (no operation declares one)",
    "json_media_type": "a body is sent as application/json",
    "request_body_schema": "the body is JSON matching the operation's schema, at most 64 KiB",
}

# Rules of the answer, all named as in the suite.
SERVER_CHECKS: tuple[str, ...] = (
    # each exchange alone
    "not_a_server_error",
    "auth_required",
    "negative_data_rejection",
    "positive_data_acceptance",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "problem_details",
    "location_header",
    "password_never_returned",
    # from what was seen before
    "create_answers_trunk",
    "port_defaults_to_5060",
    "get_matches_create",
    "list_matches_model",
    "delete_removes_trunk",
    "delete_cascade",
    "phone_links_match_model",
    "unknown_trunk_is_422",
    "isolation_get",
    "isolation_list",
    "isolation_delete",
    "isolation_link",
)


def describe(check: str) -> str:
    """What a rule means, in one line."""
    if check in CLIENT_CHECKS:
        return CLIENT_CHECKS[check]
    return by_name(check).description
