"""The contract says what the project decided: these tests read the spec and pin each decision."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from sip_trunks_openapi import SPEC_PATH, load_spec

SPEC = load_spec()
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow local ``$ref`` pointers until a concrete node is reached."""
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in SPEC["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def operation(operation_id: str) -> dict[str, Any]:
    for _, _, candidate in operations():
        if candidate["operationId"] == operation_id:
            return candidate
    raise KeyError(operation_id)


def schema(name: str) -> dict[str, Any]:
    return resolve(SPEC["components"]["schemas"][name])


def test_spec_is_valid_openapi_3_0() -> None:
    validate(SPEC)
    # connexion 3.3 refuses 3.1 documents.
    assert SPEC["openapi"] == "3.0.3"


def test_spec_ships_with_the_package() -> None:
    assert SPEC_PATH.name == "sip-trunks.yaml"
    assert SPEC_PATH.parent.name == "openapi"


def test_the_four_documented_trunk_operations_and_the_phone_number_subset_exist() -> None:
    found = {(path, method) for path, method, _ in operations()}
    assert found == {
        ("/sip-trunks", "get"),
        ("/sip-trunks", "post"),
        ("/sip-trunks/{id}", "get"),
        ("/sip-trunks/{id}", "delete"),
        ("/phone-numbers", "get"),
        ("/phone-numbers/{id}", "get"),
        ("/phone-numbers/{id}", "patch"),
    }


def test_every_operation_is_secured_by_the_global_bearer_scheme() -> None:
    assert SPEC["security"] == [{"bearerAuth": []}]
    assert SPEC["components"]["securitySchemes"]["bearerAuth"] == {
        **SPEC["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
    }
    for path, method, op in operations():
        # An operation-level `security: []` would switch auth off for it.
        assert op.get("security", SPEC["security"]) == SPEC["security"], (path, method)
        unauthorized = resolve(op["responses"]["401"])
        assert "WWW-Authenticate" in unauthorized["headers"], (path, method)
        assert resolve(unauthorized["headers"]["WWW-Authenticate"])["required"] is True


def test_every_error_response_is_a_problem() -> None:
    problem = schema("Problem")
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    for path, method, op in operations():
        for status, response in op["responses"].items():
            if int(status) < 400:
                continue
            content = resolve(response)["content"]
            assert list(content) == ["application/problem+json"], (path, method, status)
            assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


@pytest.mark.parametrize(
    ("operation_id", "statuses"),
    [
        ("listSipTrunks", {"200", "400", "401", "429", "503"}),
        ("createSipTrunk", {"201", "400", "401", "409", "413", "415", "429", "503"}),
        ("getSipTrunk", {"200", "400", "401", "404", "429", "503"}),
        ("deleteSipTrunk", {"204", "400", "401", "404", "429", "503"}),
        ("listPhoneNumbers", {"200", "400", "401", "429", "503"}),
        ("getPhoneNumber", {"200", "400", "401", "404", "429", "503"}),
        ("updatePhoneNumber", {"200", "400", "401", "404", "413", "415", "422", "429", "503"}),
    ],
)
def test_each_operation_documents_exactly_its_status_codes(operation_id: str, statuses: set[str]) -> None:
    assert set(operation(operation_id)["responses"]) == statuses


def test_rate_limited_responses_carry_retry_after() -> None:
    too_many = SPEC["components"]["responses"]["TooManyRequests"]
    assert resolve(too_many["headers"]["Retry-After"])["required"] is True


RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.mark.parametrize("name", RATE_LIMIT_HEADERS)
def test_rate_limit_headers_are_optional_integers(name: str) -> None:
    header = SPEC["components"]["headers"][name]
    # Optional: a deployment without a rate limit sends none of them.
    assert header["required"] is False
    assert header["schema"]["type"] == "integer"
    assert header["schema"]["minimum"] == (1 if name == "X-RateLimit-Limit" else 0)


def test_every_response_of_every_operation_documents_the_rate_limit_headers() -> None:
    # "On every response while on": successes and errors alike, by reference to one definition.
    for path, method, op in operations():
        for status, response in op["responses"].items():
            headers = resolve(response).get("headers", {})
            for name in RATE_LIMIT_HEADERS:
                assert headers.get(name) == {"$ref": f"#/components/headers/{name}"}, (path, method, status)


def test_reset_is_a_delay_not_a_timestamp() -> None:
    description = " ".join(SPEC["components"]["headers"]["X-RateLimit-Reset"]["description"].split())
    assert "a delay, not a timestamp" in description


def test_every_operation_may_answer_503_with_an_optional_retry_after() -> None:
    for path, method, op in operations():
        assert op["responses"]["503"] == {"$ref": "#/components/responses/ServiceUnavailable"}, (path, method)
    unavailable = SPEC["components"]["responses"]["ServiceUnavailable"]
    assert "**Decision" in unavailable["description"]
    assert resolve(unavailable["headers"]["Retry-After"])["required"] is False


def test_500_is_never_documented() -> None:
    # A server error is a defect, not part of the contract; the mock never injects one.
    for path, method, op in operations():
        assert not any(status.startswith("5") and status != "503" for status in op["responses"]), (
            path,
            method,
        )


def test_the_rate_limit_and_availability_decisions_are_written_down() -> None:
    description = SPEC["info"]["description"]
    assert "**Decision (rate limits):**" in description
    assert "**Decision (availability):**" in description
    for name in RATE_LIMIT_HEADERS:
        assert name in description


def test_password_is_write_only_and_never_part_of_a_returned_trunk() -> None:
    create = schema("SIPTrunkCreate")
    assert create["properties"]["password"]["writeOnly"] is True
    assert "password" not in schema("SIPTrunk")["properties"]
    # additionalProperties: false makes a leaked password a schema violation.
    assert schema("SIPTrunk")["additionalProperties"] is False


def test_a_returned_trunk_has_exactly_the_documented_properties() -> None:
    trunk = schema("SIPTrunk")
    expected = {"id", "name", "host", "port", "username", "created_at"}
    assert set(trunk["properties"]) == expected
    assert set(trunk["required"]) == expected
    assert trunk["properties"]["id"]["format"] == "uuid"


def test_create_body_has_exactly_the_documented_fields_and_refuses_others() -> None:
    create = schema("SIPTrunkCreate")
    assert set(create["properties"]) == {"name", "host", "port", "username", "password"}
    assert set(create["required"]) == {"name", "host", "username", "password"}
    assert create["additionalProperties"] is False
    body = operation("createSipTrunk")["requestBody"]
    assert body["required"] is True
    assert list(body["content"]) == ["application/json"]


def test_port_defaults_to_5060_within_1_to_65535() -> None:
    port = schema("TrunkPort")
    assert (port["type"], port["default"], port["minimum"], port["maximum"]) == ("integer", 5060, 1, 65535)


@pytest.mark.parametrize(
    ("name", "min_length", "max_length"),
    [("TrunkName", 1, 255), ("TrunkHost", 1, 253), ("TrunkUsername", 1, 255)],
)
def test_string_bounds(name: str, min_length: int, max_length: int) -> None:
    assert (schema(name)["minLength"], schema(name)["maxLength"]) == (min_length, max_length)
    password = schema("SIPTrunkCreate")["properties"]["password"]
    assert (password["minLength"], password["maxLength"]) == (1, 255)


@pytest.mark.parametrize(
    ("host", "valid"),
    [
        ("sip.provider.com", True),
        ("10.0.0.1", True),
        ("a", True),
        ("my-host-1", True),
        ("[2001:db8::1]", True),
        ("-leading.dash", False),
        ("trailing.dot.", False),
        ("has space", False),
        ("under_score", False),
        ("2001:db8::1", False),
        ("", False),
    ],
)
def test_host_pattern_accepts_dns_names_ipv4_and_bracketed_ipv6_only(host: str, valid: bool) -> None:
    pattern = re.compile(schema("TrunkHost")["pattern"])
    assert bool(pattern.search(host)) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2025-12-13T10:00:00.000Z", True),
        ("2025-12-13T10:00:00Z", False),
        ("2025-12-13T10:00:00.000+00:00", False),
    ],
)
def test_created_at_is_utc_with_milliseconds(value: str, valid: bool) -> None:
    assert bool(re.search(schema("Timestamp")["pattern"], value)) is valid
    assert schema("SIPTrunk")["properties"]["created_at"] == {"$ref": "#/components/schemas/Timestamp"}


def test_create_answers_201_with_a_location_header() -> None:
    created = operation("createSipTrunk")["responses"]["201"]
    assert created["headers"]["Location"]["required"] is True
    assert created["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/SIPTrunk"}


def test_delete_answers_204_with_no_body_and_says_phone_numbers_are_cleared() -> None:
    deleted = operation("deleteSipTrunk")["responses"]["204"]
    assert "content" not in deleted
    assert "transfer_trunk_id" in deleted["description"]


def test_get_and_delete_never_answer_403() -> None:
    for operation_id in ("getSipTrunk", "deleteSipTrunk", "getPhoneNumber", "updatePhoneNumber"):
        assert "403" not in operation(operation_id)["responses"]
        assert "404" in operation(operation_id)["responses"]


def test_links_chain_create_to_get_delete_and_phone_number_link() -> None:
    links = operation("createSipTrunk")["responses"]["201"]["links"]
    by_target = {link["operationId"]: link for link in links.values()}
    assert by_target["getSipTrunk"]["parameters"] == {"id": "$response.body#/id"}
    assert by_target["deleteSipTrunk"]["parameters"] == {"id": "$response.body#/id"}
    assert by_target["updatePhoneNumber"]["requestBody"] == {"transfer_trunk_id": "$response.body#/id"}


def test_phone_number_subset() -> None:
    phone = schema("PhoneNumber")
    assert set(phone["required"]) == {"id", "number", "transfer_trunk_id", "created_at"}
    assert phone["properties"]["number"]["pattern"] == r"^\+[1-9][0-9]{1,14}$"
    assert phone["properties"]["transfer_trunk_id"]["nullable"] is True
    update = schema("PhoneNumberUpdate")
    assert (set(update["properties"]), update["required"], update["additionalProperties"]) == (
        {"transfer_trunk_id"},
        ["transfer_trunk_id"],
        False,
    )
    assert "subset" in SPEC["paths"]["/phone-numbers"]["get"]["summary"]


def test_list_order_is_decided_and_said() -> None:
    description = operation("listSipTrunks")["description"]
    assert "oldest first" in description
    assert "`created_at`, then by `id`" in description


def test_every_schema_and_operation_has_an_example() -> None:
    for name, node in SPEC["components"]["schemas"].items():
        assert "example" in node, name
    for path, method, op in operations():
        success = next(r for s, r in op["responses"].items() if s.startswith("2"))
        has_example = "requestBody" in op and "example" in op["requestBody"]["content"]["application/json"]
        for content in success.get("content", {}).values():
            has_example = has_example or "example" in content or "example" in resolve(content["schema"])
        assert has_example or method == "delete", (path, method)


def test_every_decision_is_marked_in_the_spec() -> None:
    text = SPEC_PATH.read_text(encoding="utf-8")
    # Each decision the project took where the vendor page is silent says so.
    assert text.count("**Decision") >= 20
