"""Handlers of the admin API under ``/__admin`` (no authentication; see ``admin.yaml``)."""

from __future__ import annotations

from typing import Any

from connexion.lifecycle import ConnexionResponse

from mockserver.handlers._json import JSON, Response, no_content
from mockserver.store import Store


async def get_health(store: Store) -> Response:
    """GET /__admin/health."""
    return {"status": "ok", **store.stats()}, 200, JSON


async def reset_state(store: Store, token: str | None = None) -> ConnexionResponse:
    """POST /__admin/reset[?token=KEY]."""
    store.reset(token)
    return no_content()


async def get_state(store: Store) -> Response:
    """GET /__admin/state (never passwords)."""
    return store.export_state(), 200, JSON


async def put_state(store: Store, body: dict[str, Any]) -> Response:
    """PUT /__admin/state: replace everything (the body was validated against ``State``)."""
    store.import_state(body)
    return {"status": "ok", **store.stats()}, 200, JSON
