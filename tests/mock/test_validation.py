"""Request validation: 400s that name the field and never echo values, 415, and never a 500."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from jsonschema import Draft4Validator

from mockserver.http.admin import admin_spec
from mockserver.http.app import product_spec
from mockserver.http.paths import ADMIN_BASE_PATH
from mockserver.http.validation import describe, field_path

from .helpers import assert_problem, bearer, phone_numbers, trunk_body

pytestmark = pytest.mark.anyio


# Request errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"host": "h", "username": "u", "password": "p"}, "name"),
        (trunk_body(name=""), "name"),
        (trunk_body(port=0), "port"),
        (trunk_body(port="5060"), "port"),
        (trunk_body(host="bad host!"), "host"),
        (trunk_body(host="[7]"), "host"),
        (trunk_body(host="[1::2::3]"), "host"),
        (trunk_body(host="999.999.999.999"), "host"),
        (trunk_body(name="nul\x00byte"), "name"),
        (trunk_body(username="line\nbreak"), "username"),
        (trunk_body(password=""), "password"),
        (trunk_body(extra=1), "extra"),
        (trunk_body(username=None), "username"),
    ],
    ids=[
        "missing",
        "empty",
        "port-range",
        "port-type",
        "host-pattern",
        "not-ipv6",
        "double-colon-twice",
        "not-ipv4",
        "control-in-name",
        "control-in-username",
        "empty-password",
        "unknown",
        "null",
    ],
)
async def test_invalid_bodies_are_400_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    assert_problem(await client.post("/sip-trunks", json=body, headers=bearer()), 400, field)


async def test_invalid_patch_bodies_are_400(client: httpx.AsyncClient) -> None:
    number = (await phone_numbers(client))[0]
    url = f"/phone-numbers/{number['id']}"
    assert_problem(
        await client.patch(url, json={"transfer_trunk_id": "nope"}, headers=bearer()),
        400,
        "transfer_trunk_id",
    )
    assert_problem(await client.patch(url, json={}, headers=bearer()), 400, "transfer_trunk_id")


@pytest.mark.parametrize(
    ("content", "content_type", "status", "detail"),
    [
        (b'{"name": ', "application/json", 400, "not valid JSON"),
        (b'{"name": "\xff\xfe"}', "application/json", 400, "not valid utf-8"),
        (b"\xc3\x28", "application/json", 400, "not valid utf-8"),
        (b"{}", "application/json; charset=no-such-codec", 400, None),
        (b"", "application/json", 400, "required"),
        (b"null", "application/json", 400, None),
        (b"[]", "application/json", 400, "object"),
        (b"name=x", "application/x-www-form-urlencoded", 415, "Content-type"),
        (b"{}", "text/plain", 415, "text/plain"),
    ],
    ids=["truncated", "not-utf8", "bad-sequence", "bad-charset", "empty", "null", "array", "form", "text"],
)
async def test_bad_bodies_are_problems_never_500(
    client: httpx.AsyncClient, content: bytes, content_type: str, status: int, detail: str | None
) -> None:
    headers = {**bearer(), "Content-Type": content_type}
    assert_problem(await client.post("/sip-trunks", content=content, headers=headers), status, detail)


# A body with no Content-Type -----------------------------------------------------------

# A valid body for every operation of both specs that takes one: without a Content-Type
# connexion validated it as JSON, then gave the handler raw bytes (a 500).
VALID_BODIES: dict[str, object] = {
    "POST /sip-trunks": trunk_body(),
    "PATCH /phone-numbers/{id}": {"transfer_trunk_id": None},
    "PUT /__admin/state": {"organizations": {}},
    "POST /__admin/faults": {"status": 503, "times": 1},
    "PUT /__admin/rate-limit": {"rate": "10/s"},
}
_METHODS = ("get", "put", "post", "delete", "patch")


def _operations() -> Iterator[tuple[str, bool]]:
    """``METHOD /path`` of every operation of both specs, and whether it takes a body."""
    for base, spec in (("", product_spec()), (ADMIN_BASE_PATH, admin_spec())):
        for path, item in spec["paths"].items():
            for method in _METHODS:
                if method in item:
                    yield f"{method.upper()} {base}{path}", "requestBody" in item[method]


OPERATIONS = dict(_operations())


def test_every_operation_with_a_body_is_probed() -> None:
    assert {name for name, has_body in OPERATIONS.items() if has_body} == VALID_BODIES.keys()


def _send_without_content_type(http: httpx.Client, operation: str, body: bytes) -> httpx.Response:
    method, path = operation.split(" ")
    path = path.replace("{id}", str(uuid.uuid4()))
    # httpx sends raw bytes with a Content-Length and no Content-Type.
    response = http.request(method, path, content=body, headers=bearer(), timeout=10)
    assert "content-type" not in response.request.headers
    return response


@pytest.mark.parametrize("operation", list(VALID_BODIES))
def test_a_body_without_content_type_is_415_naming_it(http: httpx.Client, operation: str) -> None:
    response = _send_without_content_type(http, operation, json.dumps(VALID_BODIES[operation]).encode())
    assert_problem(response, 415, "no Content-Type header")
    assert http.get("/sip-trunks", headers=bearer()).status_code == 200


@pytest.mark.parametrize("operation", [name for name, has_body in OPERATIONS.items() if not has_body])
def test_a_stray_body_without_content_type_is_never_a_500(http: httpx.Client, operation: str) -> None:
    response = _send_without_content_type(http, operation, b'{"name": "stray"}')
    assert response.status_code < 500, response.text


async def test_an_empty_body_without_content_type_is_still_400(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/sip-trunks", headers=bearer()), 400, "required")


async def test_an_unknown_query_parameter_is_400(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/sip-trunks?debug=1", headers=bearer()), 400, "debug")


def test_field_path() -> None:
    assert field_path(["organizations", "k", "trunks", 0, "host"]) == "organizations.k.trunks[0].host"
    assert field_path([]) == ""


@pytest.mark.parametrize(
    ("schema", "value", "detail"),
    [
        ({"type": "object", "required": ["name"]}, {}, "'name' is a required property"),
        ({"properties": {"p": {"maxLength": 3}}}, {"p": "secret"}, "p: length must be at most 3"),
        ({"properties": {"p": {"pattern": "^a$"}}}, {"p": "secret"}, "p: must match the pattern ^a$"),
        ({"type": "object"}, ["secret"], "body: must be of type object"),
        ({"properties": {"p": {"not": {}}}}, {"p": "secret"}, "p: breaks the rule not={}"),
    ],
    ids=["required", "max-length", "pattern", "type", "other-rule"],
)
def test_describe_names_the_rule_never_the_value(
    schema: dict[str, object], value: object, detail: str
) -> None:
    (error,) = Draft4Validator(schema).iter_errors(value)
    assert describe(error) == detail
    assert "secret" not in describe(error)
