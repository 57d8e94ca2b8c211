"""Small helpers shared by the mock's tests: tokens, headers, bodies, a predictable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

TOKEN_A = "token-org-a"
TOKEN_B = "token-org-b"


def bearer(token: str = TOKEN_A) -> dict[str, str]:
    """The Authorization header of ``token``."""
    return {"Authorization": f"Bearer {token}"}


def trunk_body(**overrides: object) -> dict[str, object]:
    """A valid POST /sip-trunks body."""
    body: dict[str, object] = {
        "name": "Main Trunk",
        "host": "sip.provider.com",
        "username": "myuser",
        "password": "my-sip-password",
    }
    body.update(overrides)
    return body


class TickingClock:
    """A clock that moves one millisecond per reading, so order by time is predictable."""

    def __init__(self, start: datetime = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def assert_problem(response: httpx.Response, status: int, detail: str | None = None) -> dict[str, object]:
    """The response is an RFC 9457 problem with ``status`` (and ``detail`` in its detail)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    if detail is not None:
        assert detail in str(body["detail"]), body
    return body


async def create(client: httpx.AsyncClient, token: str = TOKEN_A, **fields: object) -> dict[str, object]:
    response = await client.post("/sip-trunks", json=trunk_body(**fields), headers=bearer(token))
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


async def phone_numbers(client: httpx.AsyncClient, token: str = TOKEN_A) -> list[dict[str, object]]:
    response = await client.get("/phone-numbers", headers=bearer(token))
    assert response.status_code == 200
    numbers: list[dict[str, object]] = response.json()["phone_numbers"]
    return numbers
