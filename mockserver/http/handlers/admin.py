"""Handlers of the admin API under ``/__admin`` (no authentication; see ``admin.yaml``).

State lives in the store; faults, the rate limit and the journal in the app's controls
(``mockserver.controls.middleware``), found through ``current_controls()``.
"""

from __future__ import annotations

from typing import Any

from connexion.lifecycle import ConnexionResponse
from starlette.responses import StreamingResponse

from mockserver.controls.faults import FaultSpec
from mockserver.controls.middleware import current_controls
from mockserver.controls.rate_limit import parse_rate_limit
from mockserver.domain.models import org_key
from mockserver.domain.store import Store
from mockserver.http.handlers._json import JSON, Response, no_content
from mockserver.http.state_document import state_pieces
from mockserver.http.streaming import list_document, streamed_json


def _health(store: Store) -> dict[str, Any]:
    # `accepts_any_key` tells `sip-trunks check` to skip the checks that need an unknown key refused.
    return {"status": "ok", **store.stats(), "accepts_any_key": current_controls().accepts_any_key}


async def get_health(store: Store) -> Response:
    """GET /__admin/health."""
    return _health(store), 200, JSON


async def reset_state(store: Store, token: str | None = None) -> ConnexionResponse:
    """POST /__admin/reset[?token=KEY]: state, faults, rate limit and journal back to the start."""
    store.reset(token)
    current_controls().reset(token)
    return no_content()


async def get_state(store: Store) -> StreamingResponse:
    """GET /__admin/state (never passwords): the state as it is now, streamed without stalling the loop."""
    return streamed_json(state_pieces(store.snapshot()))


async def put_state(store: Store, body: dict[str, Any]) -> Response:
    """PUT /__admin/state: replace everything (the body was validated against ``State``)."""
    store.import_state(body)
    return _health(store), 200, JSON


# Faults ---------------------------------------------------------------------------------


async def list_faults(store: Store) -> Response:
    """GET /__admin/faults."""
    return {"faults": [fault.to_json() for fault in current_controls().faults]}, 200, JSON


async def add_fault(store: Store, body: dict[str, Any]) -> Response:
    """POST /__admin/faults."""
    fault = current_controls().faults.add(FaultSpec.from_json(body))
    return fault.to_json(), 201, {**JSON, "Location": f"/__admin/faults/{fault.id}"}


async def clear_faults(store: Store, token: str | None = None) -> ConnexionResponse:
    """DELETE /__admin/faults[?token=KEY]."""
    current_controls().faults.clear(token)
    return no_content()


async def delete_fault(store: Store, id: str) -> ConnexionResponse:
    """DELETE /__admin/faults/{id}."""
    current_controls().faults.remove(id)
    return no_content()


# Journal --------------------------------------------------------------------------------


async def list_requests(
    store: Store, token: str | None = None, method: str | None = None, path: str | None = None
) -> Response | StreamingResponse:
    """GET /__admin/requests[?token=&method=&path=]: streamed; the token is hashed, never kept or shown."""
    journal = current_controls().journal
    if journal is None:
        return {"size": 0, "requests": []}, 200, JSON
    org = None if token is None else org_key(token)
    entries = journal.iter_entries(org=org, method=method, path=path)  # the journal as it is now
    return streamed_json(list_document({"size": journal.size}, "requests", entries))


async def clear_requests(store: Store) -> ConnexionResponse:
    """DELETE /__admin/requests."""
    journal = current_controls().journal
    if journal is not None:
        journal.clear()
    return no_content()


# Rate limit -----------------------------------------------------------------------------


def _rate(limit: object) -> dict[str, Any]:
    return {"rate": None if limit is None else str(limit)}


async def get_rate_limit(store: Store) -> Response:
    """GET /__admin/rate-limit."""
    return _rate(current_controls().limiter.limit), 200, JSON


async def put_rate_limit(store: Store, body: dict[str, Any]) -> Response:
    """PUT /__admin/rate-limit ``{"rate": "10/s"}``."""
    limiter = current_controls().limiter
    limiter.limit = parse_rate_limit(body["rate"])
    return _rate(limiter.limit), 200, JSON


async def delete_rate_limit(store: Store) -> ConnexionResponse:
    """DELETE /__admin/rate-limit: rate limiting off."""
    current_controls().limiter.limit = None
    return no_content()
