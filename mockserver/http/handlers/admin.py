"""Handlers of the admin API under ``/__admin`` (no authentication; see ``admin.yaml``).

State lives in the store; faults, the rate limit and the journal in the app's controls
(``mockserver.controls.panel``), found through ``current_controls()``. Both are awaited:
they may be shared by replicas through Redis.
"""

from __future__ import annotations

from typing import Any

from connexion.lifecycle import ConnexionResponse
from starlette.responses import StreamingResponse

from mockserver.controls.faults import FaultSpec
from mockserver.controls.middleware import current_controls
from mockserver.controls.rate_limit import RateLimit, parse_rate_limit
from mockserver.domain.interface import StateStore
from mockserver.domain.models import org_key
from mockserver.http.handlers._json import JSON, Response, no_content
from mockserver.http.state_document import state_pieces
from mockserver.http.streaming import list_document, streamed_json


async def _health(store: StateStore) -> dict[str, Any]:
    # `accepts_any_key` tells `sip-trunks check` to skip the checks that need an unknown key refused.
    return {"status": "ok", **(await store.stats()), "accepts_any_key": current_controls().accepts_any_key}


async def get_health(store: StateStore) -> Response:
    """GET /__admin/health."""
    return await _health(store), 200, JSON


async def reset_state(store: StateStore, token: str | None = None) -> ConnexionResponse:
    """POST /__admin/reset[?token=KEY]: state, faults, rate limit and journal back to the start."""
    await store.reset(token)
    await current_controls().reset(token)
    return no_content()


async def get_state(store: StateStore) -> StreamingResponse:
    """GET /__admin/state (never passwords): the state as it is now, streamed without stalling the loop."""
    return streamed_json(state_pieces(await store.snapshot()))


async def put_state(store: StateStore, body: dict[str, Any]) -> Response:
    """PUT /__admin/state: replace everything (the body was validated against ``State``)."""
    await store.import_state(body)
    return await _health(store), 200, JSON


# Faults ---------------------------------------------------------------------------------


async def list_faults(store: StateStore) -> Response:
    """GET /__admin/faults."""
    return {"faults": await current_controls().faults_json()}, 200, JSON


async def add_fault(store: StateStore, body: dict[str, Any]) -> Response:
    """POST /__admin/faults."""
    fault = await current_controls().add_fault(FaultSpec.from_json(body))
    return fault, 201, {**JSON, "Location": f"/__admin/faults/{fault['id']}"}


async def clear_faults(store: StateStore, token: str | None = None) -> ConnexionResponse:
    """DELETE /__admin/faults[?token=KEY]."""
    await current_controls().clear_faults(token)
    return no_content()


async def delete_fault(store: StateStore, id: str) -> ConnexionResponse:
    """DELETE /__admin/faults/{id}."""
    await current_controls().remove_fault(id)
    return no_content()


# Journal --------------------------------------------------------------------------------


async def list_requests(
    store: StateStore, token: str | None = None, method: str | None = None, path: str | None = None
) -> Response | StreamingResponse:
    """GET /__admin/requests[?token=&method=&path=]: streamed; the token is hashed, never kept or shown."""
    controls = current_controls()
    if not controls.journal_size:
        return {"size": 0, "requests": []}, 200, JSON
    org = None if token is None else org_key(token)
    entries = await controls.iter_requests(org, method, path)  # the journal as it is now
    return streamed_json(list_document({"size": controls.journal_size}, "requests", entries))


async def clear_requests(store: StateStore) -> ConnexionResponse:
    """DELETE /__admin/requests."""
    await current_controls().clear_requests()
    return no_content()


# Rate limit -----------------------------------------------------------------------------


def _rate(limit: RateLimit | None) -> dict[str, Any]:
    return {"rate": None if limit is None else str(limit)}


async def get_rate_limit(store: StateStore) -> Response:
    """GET /__admin/rate-limit."""
    return _rate(await current_controls().rate_limit()), 200, JSON


async def put_rate_limit(store: StateStore, body: dict[str, Any]) -> Response:
    """PUT /__admin/rate-limit ``{"rate": "10/s"}``."""
    limit = parse_rate_limit(body["rate"])
    await current_controls().set_rate_limit(limit)
    return _rate(limit), 200, JSON


async def delete_rate_limit(store: StateStore) -> ConnexionResponse:
    """DELETE /__admin/rate-limit: rate limiting off."""
    await current_controls().set_rate_limit(None)
    return no_content()
