"""A plain connexion 3 AsyncApp on our spec: default validation, a bearer check that accepts any token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from connexion import AsyncApp
from connexion.resolver import Resolver
from connexion.security import BearerSecurityHandler

from sip_trunks_openapi import SPEC_PATH

Body = dict[str, Any]
Headers = dict[str, str]
Handler = Callable[..., Awaitable[Any]]

TRUNK: Body = {
    "id": "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f",
    "name": "Main Trunk",
    "host": "sip.provider.com",
    "port": 5060,
    "username": "myuser",
    "created_at": "2025-12-13T10:00:00.000Z",
}
# The spec declares application/problem+json next to application/json, so connexion
# needs to be told which content type each answer has.
JSON: Headers = {"Content-Type": "application/json"}
PHONE_NUMBER: Body = {
    "id": "0b7f4a52-3d41-4c8e-9a57-1f2e3d4c5b6a",
    "number": "+14155550100",
    "transfer_trunk_id": None,
    "created_at": "2025-12-13T10:00:00.000Z",
}


def bearer_info(token: str) -> dict[str, str] | None:
    """Accept any non-empty token: the baseline pays for the check, not for a lookup."""
    return {"sub": token} if token else None


class AnyTokenBearer(BearerSecurityHandler):
    """connexion's own bearer handler, with `bearer_info` instead of an `x-bearerInfoFunc` in the spec."""

    def _resolve_func(self, security_scheme: Body) -> Callable[[str], dict[str, str] | None]:
        return bearer_info


async def list_sip_trunks() -> tuple[Body, int, Headers]:
    """GET /sip-trunks."""
    return {"trunks": [TRUNK]}, 200, JSON


async def create_sip_trunk(body: Body) -> tuple[Body, int, Headers]:
    """POST /sip-trunks."""
    return TRUNK, 201, {**JSON, "Location": f"/sip-trunks/{TRUNK['id']}"}


async def get_sip_trunk(id: str) -> tuple[Body, int, Headers]:
    """GET /sip-trunks/{id}."""
    return TRUNK, 200, JSON


async def delete_sip_trunk(id: str) -> tuple[None, int]:
    """DELETE /sip-trunks/{id}."""
    return None, 204


async def list_phone_numbers() -> tuple[Body, int, Headers]:
    """GET /phone-numbers."""
    return {"phone_numbers": [PHONE_NUMBER]}, 200, JSON


async def get_phone_number(id: str) -> tuple[Body, int, Headers]:
    """GET /phone-numbers/{id}."""
    return PHONE_NUMBER, 200, JSON


async def update_phone_number(id: str, body: Body) -> tuple[Body, int, Headers]:
    """PATCH /phone-numbers/{id}."""
    return {**PHONE_NUMBER, "transfer_trunk_id": body["transfer_trunk_id"]}, 200, JSON


HANDLERS: dict[str, Handler] = {
    "listSipTrunks": list_sip_trunks,
    "createSipTrunk": create_sip_trunk,
    "getSipTrunk": get_sip_trunk,
    "deleteSipTrunk": delete_sip_trunk,
    "listPhoneNumbers": list_phone_numbers,
    "getPhoneNumber": get_phone_number,
    "updatePhoneNumber": update_phone_number,
}


def create_app() -> AsyncApp:
    """Build the baseline: connexion defaults except how handlers and the bearer check are found."""
    app = AsyncApp(__name__)
    app.add_api(
        SPEC_PATH,
        resolver=Resolver(function_resolver=lambda op_id: HANDLERS[op_id]),
        security_map={"bearer": AnyTokenBearer},
    )
    return app


app = create_app()
