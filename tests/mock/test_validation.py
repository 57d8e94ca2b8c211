"""Request validation: 400s that name the field and never echo values, 415, and never a 500."""

from __future__ import annotations

import httpx
import pytest
from jsonschema import Draft4Validator

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
