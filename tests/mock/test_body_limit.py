"""The 64 KiB body limit: 413 before parsing, with or without Content-Length."""

from __future__ import annotations

import httpx
import pytest

from .helpers import assert_problem, bearer

pytestmark = pytest.mark.anyio


async def test_a_body_over_64_kib_is_413_before_parsing(client: httpx.AsyncClient) -> None:
    # Not even JSON: a parser would say 400, so 413 proves nothing parsed it.
    response = await client.post(
        "/sip-trunks", content=b"x" * 70_000, headers={**bearer(), "Content-Type": "application/json"}
    )
    assert_problem(response, 413, "65536")


async def test_a_chunked_body_over_64_kib_is_413(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(70):
            yield b"x" * 1000

    response = await client.post(
        "/sip-trunks", content=chunks(), headers={**bearer(), "Content-Type": "application/json"}
    )
    assert_problem(response, 413)


async def test_a_small_chunked_body_is_accepted(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"name": "n", "host": "h", '
        yield b'"username": "u", "password": "p"}'

    response = await client.post(
        "/sip-trunks", content=chunks(), headers={**bearer(), "Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text


async def test_exactly_64_kib_is_not_413(client: httpx.AsyncClient) -> None:
    body = b'{"name": "' + b"n" * (65536 - 12) + b'"}'
    assert len(body) == 65536
    response = await client.post(
        "/sip-trunks", content=body, headers={**bearer(), "Content-Type": "application/json"}
    )
    assert_problem(response, 400)  # parsed and refused by the schema, not 413


async def test_a_malformed_content_length_is_400(client: httpx.AsyncClient) -> None:
    request = client.build_request(
        "POST", "/sip-trunks", content=b"{}", headers={**bearer(), "Content-Type": "application/json"}
    )
    request.headers["Content-Length"] = "abc"
    assert_problem(await client.send(request), 400, "Content-Length")
