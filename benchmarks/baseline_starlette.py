"""A bare Starlette app with the two /sip-trunks endpoints: the Python ceiling of the benchmark."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TRUNK: dict[str, object] = {
    "id": "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f",
    "name": "Main Trunk",
    "host": "sip.provider.com",
    "port": 5060,
    "username": "myuser",
    "created_at": "2025-12-13T10:00:00.000Z",
}
# Serialised once: the ceiling should cost as little as a Python endpoint can.
_LIST_BODY = json.dumps({"trunks": [TRUNK]}).encode()
_TRUNK_BODY = json.dumps(TRUNK).encode()


async def list_trunks(request: Request) -> Response:
    """Answer a fixed list of one trunk."""
    return Response(_LIST_BODY, media_type="application/json")


async def get_trunk(request: Request) -> Response:
    """Answer the same trunk whatever the id."""
    return Response(_TRUNK_BODY, media_type="application/json")


async def create_trunk(request: Request) -> Response:
    """Parse the JSON body (as any server must) and answer 201 with the fixed trunk."""
    body = await request.json()
    if not isinstance(body, dict):
        return JSONResponse({"detail": "expected an object"}, status_code=400)
    headers = {"Location": f"/sip-trunks/{TRUNK['id']}"}
    return Response(_TRUNK_BODY, status_code=201, media_type="application/json", headers=headers)


app = Starlette(
    routes=[
        Route("/sip-trunks", list_trunks, methods=["GET"]),
        Route("/sip-trunks", create_trunk, methods=["POST"]),
        Route("/sip-trunks/{id}", get_trunk, methods=["GET"]),
    ]
)
