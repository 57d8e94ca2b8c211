"""Handlers of ``/phone-numbers`` (the subset that shows a trunk deletion's cascade).

connexion has validated the request and passes the bearer token as ``user``.
"""

from __future__ import annotations

from typing import Any

from mockserver.domain.interface import StateStore
from mockserver.http.handlers._json import JSON, Response


async def list_phone_numbers(store: StateStore, user: str) -> Response:
    """GET /phone-numbers."""
    numbers = await store.list_phone_numbers(user)
    return {"phone_numbers": [number.to_dict() for number in numbers]}, 200, JSON


async def get_phone_number(store: StateStore, user: str, id: str) -> Response:
    """GET /phone-numbers/{id}."""
    return (await store.get_phone_number(user, id)).to_dict(), 200, JSON


async def update_phone_number(store: StateStore, user: str, id: str, body: dict[str, Any]) -> Response:
    """PATCH /phone-numbers/{id}."""
    number = await store.update_phone_number(user, id, transfer_trunk_id=body["transfer_trunk_id"])
    return number.to_dict(), 200, JSON
