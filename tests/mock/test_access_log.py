"""The access log: one key=value line per request, the org as a hash, never a token or a query."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from mockserver.domain.models import org_key
from mockserver.http.middleware.access_log import ACCESS_LOGGER

from .helpers import TOKEN_A, bearer, trunk_body

pytestmark = pytest.mark.anyio

LINE = re.compile(r"^method=(\S+) path=(\S+) status=(\d{3}) duration_ms=(\d+\.\d\d) org=(\S+)$")


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]


async def test_one_line_per_request_with_org_hash(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    await client.post("/sip-trunks", json=trunk_body(), headers=bearer())
    await client.get("/sip-trunks")
    await client.get("/nope?token=secret-in-query", headers={"Authorization": "Basic abc"})
    lines = access_lines(caplog)
    assert len(lines) == 3
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [m.group(1, 2, 3, 5) for m in parsed if m] == [
        ("POST", "/sip-trunks", "201", org_key(TOKEN_A)),
        ("GET", "/sip-trunks", "401", "-"),
        ("GET", "/nope", "404", "-"),
    ]
    assert all(TOKEN_A not in line and "secret-in-query" not in line for line in lines)


async def test_org_is_a_short_stable_hash() -> None:
    assert org_key(TOKEN_A) == org_key(TOKEN_A) != org_key("other")
    assert re.fullmatch(r"[0-9a-f]{12}", org_key(TOKEN_A))


async def test_no_lines_when_disabled(make_client, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    from mockserver import MockConfig

    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    async with make_client(MockConfig(access_log=False)) as client:
        await client.get("/sip-trunks", headers=bearer())
    assert access_lines(caplog) == []
