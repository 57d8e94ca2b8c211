"""The integrator controls (request journal, rate limits, injected faults) as one plain ASGI middleware.

It sits in front of connexion's stack, so it works on raw ASGI messages only: it answers a
rate-limited or faulted request itself (an RFC 9457 problem), and it is the layer that still
holds the server's own ``receive`` when a connection has to be dropped. The admin API, Swagger
UI and ``/openapi.json`` pass straight through; so does everything while the journal, the
rate limit and the faults are all off. Admin handlers find the controls of their app with
``current_controls()``: a context variable set here around ``/__admin`` requests only, which
works whichever layer below ends up calling the handler.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import http
import json
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from mockserver.config import MockConfig
from mockserver.controls.fault_table import Catalog, Fault, FaultTable
from mockserver.controls.faults import DEFAULT_RETRY_AFTER, ConnectionDropped
from mockserver.controls.journal import BODY_LIMIT, Journal
from mockserver.controls.rate_limit import RateLimit, RateLimiter
from mockserver.domain.models import org_key
from mockserver.http.paths import ADMIN_BASE_PATH, SPEC_DOCUMENT_PATH, UI_PATH

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ConnectionDropped", "Controls", "ControlsMiddleware", "build_controls", "current_controls"]

DROP_TIMEOUT = 5.0  # seconds to wait for the server to notice a dropped connection
_DRAIN_MESSAGES = 64  # a request body is at most 64 KiB: a bounded number of messages to skip


class Controls:
    """The journal, rate limiter and fault table of one app, and what ``POST /__admin/reset`` does to them."""

    def __init__(
        self,
        faults: FaultTable,
        limiter: RateLimiter,
        journal: Journal | None,
        rate_limit: RateLimit | None = None,
        *,
        accepts_any_key: bool = True,
    ) -> None:
        self.faults = faults
        self.limiter = limiter
        self.journal = journal
        self.rate_limit = rate_limit  # the limit given at start, which reset() restores
        # Whether any non-empty key is an organization (no --token): GET /__admin/health says so.
        self.accepts_any_key = accepts_any_key

    def __repr__(self) -> str:
        return f"<Controls: {len(self.faults)} faults, rate limit {self.limiter.limit}, {self.journal!r}>"

    def reset(self, token: str | None = None) -> None:
        """Back to the start: faults, rate limit and buckets, empty journal (for all, or one organization)."""
        self.faults.reset(token)
        if token is None:
            self.limiter.limit = self.rate_limit
        else:
            self.limiter.reset(org_key(token))
        if self.journal is not None:
            self.journal.clear(None if token is None else org_key(token))


@functools.cache
def _product_facts() -> tuple[Catalog, frozenset[str]]:
    # Read once per process (with libyaml when present): the spec does not change while it runs.
    import yaml

    from sip_trunks_openapi import SPEC_PATH

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec: dict[str, Any] = yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=loader)
    return Catalog.from_spec(spec), frozenset(_write_only_fields(spec))


def _write_only_fields(spec: Mapping[str, Any]) -> Iterable[str]:
    for schema in spec.get("components", {}).get("schemas", {}).values():
        for name, prop in schema.get("properties", {}).items():
            if prop.get("writeOnly"):
                yield name


def build_controls(config: MockConfig) -> Controls:
    """The controls a config asks for; ``InvalidFault`` if a fault given at start cannot be injected."""
    catalog, secret_fields = _product_facts()
    faults = FaultTable(Catalog(catalog.operations), config.startup_faults, seed=config.fault_seed)
    journal = Journal(config.journal_size, secret_fields) if config.journal_size else None
    return Controls(
        faults, RateLimiter(config.rate_limit), journal, config.rate_limit, accepts_any_key=not config.tokens
    )


_current: contextvars.ContextVar[Controls] = contextvars.ContextVar("mockserver_controls")


def current_controls() -> Controls:
    """The controls of the app serving the admin request being handled."""
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError(
            "no controls: ControlsMiddleware is not in the middleware stack (mockserver.http.app.middlewares)"
        ) from None


@functools.lru_cache(maxsize=4096)
def _org_of_authorization(value: bytes) -> str | None:
    scheme, _, token = value.decode("latin-1").partition(" ")
    token = token.strip()
    return org_key(token) if scheme.lower() == "bearer" and token else None


def _org(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return _org_of_authorization(value)
    return None


_DOCS = (SPEC_DOCUMENT_PATH, UI_PATH)
_UI_PREFIX = f"{UI_PATH}/"


def _is_docs(path: str) -> bool:
    return path in _DOCS or path.startswith(_UI_PREFIX)


class ControlsMiddleware:
    """Journal every product API request; refuse it (429) over the rate limit; apply matching faults."""

    def __init__(self, app: ASGIApp, controls: Controls) -> None:
        self.app = app
        self.controls = controls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(ADMIN_BASE_PATH):
            token = _current.set(self.controls)
            try:
                await self.app(scope, receive, send)
            finally:
                _current.reset(token)
            return
        controls = self.controls
        if (controls.journal is None and controls.limiter.limit is None and not controls.faults) or _is_docs(
            path
        ):
            await self.app(scope, receive, send)
            return
        await self._intercept(scope, receive, send)

    async def _intercept(self, scope: Scope, receive: Receive, send: Send) -> None:
        controls = self.controls
        journal = controls.journal
        org = _org(scope)
        started_at, started = time.time(), time.perf_counter()
        status: int | None = None
        fired: tuple[str, ...] = ()
        extra_headers: list[tuple[bytes, bytes]] = []
        request_chunks: list[bytes] = []
        response_chunks: list[bytes] = []
        sizes = [0, 0]  # bytes kept of the request and of the response body

        async def receive_() -> Message:
            message = await receive()
            if message["type"] == "http.request" and sizes[0] <= BODY_LIMIT:
                chunk = message.get("body", b"")
                request_chunks.append(chunk)
                sizes[0] += len(chunk)
            return message

        async def send_(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if extra_headers:
                    message = {**message, "headers": [*message.get("headers", ()), *extra_headers]}
            elif journal is not None and message["type"] == "http.response.body" and sizes[1] <= BODY_LIMIT:
                chunk = message.get("body", b"")
                response_chunks.append(chunk)
                sizes[1] += len(chunk)
            await send(message)

        try:
            limiter = controls.limiter
            if limiter.limit is not None:
                verdict = limiter.take(org or "-")
                extra_headers = verdict.headers()
                if not verdict.allowed:
                    detail = (
                        f"Rate limit of {limiter.limit} per organization exceeded; "
                        f"retry after {verdict.retry_after} s"
                    )
                    if journal is not None:
                        await _drain(receive_)
                    await _send_problem(send_, 429, detail)
                    return
            decision = (
                controls.faults.decide(scope["method"], scope["path"], org) if controls.faults else None
            )
            if decision is not None:
                fired = decision.fired
                if decision.delay:
                    await asyncio.sleep(decision.delay)
                fault = decision.fault
                if fault is not None and journal is not None:
                    await _drain(receive_)
                if fault is not None and fault.spec.drop:
                    await _drop(receive)
                    return
                if fault is not None and fault.spec.status is not None:
                    detail = f"Injected by the mock: fault {fault.id} ({fault.spec})"
                    await _send_problem(send_, fault.spec.status, detail, _fault_headers(fault))
                    return
            await self.app(scope, receive_ if journal is not None else receive, send_)
        finally:
            if journal is not None:
                journal.record(
                    started=started_at,
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=(time.perf_counter() - started) * 1000,
                    org=org,
                    # One byte over the limit tells the journal the body was cut.
                    request_body=b"".join(request_chunks)[: BODY_LIMIT + 1],
                    response_body=b"".join(response_chunks)[: BODY_LIMIT + 1],
                    faults=fired,
                )


def _fault_headers(fault: Fault) -> list[tuple[bytes, bytes]]:
    # The headers the spec requires on these statuses, so an injected answer still conforms.
    status = fault.spec.status
    if status == 401:
        return [(b"www-authenticate", b"Bearer")]
    if status in (429, 503):
        retry_after = DEFAULT_RETRY_AFTER if fault.spec.retry_after is None else fault.spec.retry_after
        return [(b"retry-after", b"%d" % retry_after)]
    return []


async def _send_problem(
    send: Send, status: int, detail: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    try:
        title = http.HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", b"%d" % len(body)),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive) -> None:
    """Read the body of a request the app will not see, so the journal shows what was sent."""
    for _ in range(_DRAIN_MESSAGES):
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _drop(receive: Receive) -> None:
    """Close the connection without an answer, through the server's transport (uvicorn's)."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionDropped("a fault dropped the connection (the server has no transport to close)")
    transport.close()
    # Wait until the server has seen the connection go, or it would answer 500 on our behalf.
    for _ in range(_DRAIN_MESSAGES):
        message = await asyncio.wait_for(receive(), DROP_TIMEOUT)
        if message["type"] == "http.disconnect":
            return
