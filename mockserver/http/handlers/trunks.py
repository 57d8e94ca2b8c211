"""Handlers of ``/sip-trunks``: unpack, call the store, return ``(body, status[, headers])``.

connexion has validated the request and passes the bearer token as ``user``.
"""

from __future__ import annotations

from typing import Any

from connexion.lifecycle import ConnexionResponse

from mockserver.domain.interface import StateStore
from mockserver.http.handlers._json import JSON, Response, no_content


async def list_sip_trunks(store: StateStore, user: str) -> Response:
    """GET /sip-trunks."""
    trunks = await store.list_trunks(user)
    return {"trunks": [trunk.to_dict() for trunk in trunks]}, 200, JSON


async def create_sip_trunk(store: StateStore, user: str, body: dict[str, Any]) -> Response:
    """POST /sip-trunks."""
    trunk = await store.create_trunk(user, **body)
    return trunk.to_dict(), 201, {**JSON, "Location": f"/sip-trunks/{trunk.id}"}


async def get_sip_trunk(store: StateStore, user: str, id: str) -> Response:
    """GET /sip-trunks/{id}."""
    return (await store.get_trunk(user, id)).to_dict(), 200, JSON


async def delete_sip_trunk(store: StateStore, user: str, id: str) -> ConnexionResponse:
    """DELETE /sip-trunks/{id}."""
    await store.delete_trunk(user, id)
    return no_content()
