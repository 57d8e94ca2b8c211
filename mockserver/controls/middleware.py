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
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from mockserver.config import MockConfig
from mockserver.controls.fault_table import Catalog, Fault, FaultTable
from mockserver.controls.faults import DEFAULT_RETRY_AFTER, ConnectionDropped
from mockserver.controls.journal import BODY_LIMIT, Journal
from mockserver.controls.panel import PENDING, Admission, ControlPanel, Controls, Deferred
from mockserver.controls.rate_limit import RateLimiter
from mockserver.domain.errors import StoreUnavailable
from mockserver.domain.models import org_key
from mockserver.http.paths import ADMIN_BASE_PATH, SPEC_DOCUMENT_PATH, UI_PATH

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ConnectionDropped",
    "ControlPanel",
    "Controls",
    "ControlsMiddleware",
    "build_controls",
    "current_controls",
]

DROP_TIMEOUT = 5.0  # seconds to wait for the server to notice a dropped connection
_DRAIN_MESSAGES = 64  # a request body is at most 64 KiB: a bounded number of messages to skip


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


def product_catalog() -> Catalog:
    """A fresh catalog of the product API's operations (its path cache is its own)."""
    return Catalog(_product_facts()[0].operations)


def secret_fields() -> frozenset[str]:
    """The spec's write-only fields (``password``), masked in the journal."""
    return _product_facts()[1]


def build_controls(config: MockConfig) -> Controls:
    """The in-process controls a config asks for; ``InvalidFault`` if a fault given at start is refused."""
    faults = FaultTable(product_catalog(), config.startup_faults, seed=config.fault_seed)
    journal = Journal(config.journal_size, secret_fields()) if config.journal_size else None
    return Controls(
        faults, RateLimiter(config.rate_limit), journal, config.rate_limit, accepts_any_key=not config.tokens
    )


_current: contextvars.ContextVar[ControlPanel] = contextvars.ContextVar("mockserver_controls")


def current_controls() -> ControlPanel:
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

    def __init__(self, app: ASGIApp, controls: ControlPanel) -> None:
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
        if not self.controls.intercepts or _is_docs(path):
            await self.app(scope, receive, send)
            return
        await self._intercept(scope, receive, send)

    async def _intercept(self, scope: Scope, receive: Receive, send: Send) -> None:
        controls = self.controls
        journal = controls.journal_size > 0
        org = _org(scope)
        started_at, started = time.time(), time.perf_counter()
        status: int | None = None
        fired: tuple[str, ...] = ()
        extra_headers: list[tuple[bytes, bytes]] = []
        request_chunks: list[bytes] = []
        response_chunks: list[bytes] = []
        sizes = [0, 0]  # bytes kept of the request and of the response body
        body_read = False  # the app read the whole request body: nothing is left to drain

        async def receive_() -> Message:
            nonlocal body_read
            message = await receive()
            if message["type"] == "http.request":
                body_read = not message.get("more_body", False)
                if sizes[0] <= BODY_LIMIT:
                    chunk = message.get("body", b"")
                    request_chunks.append(chunk)
                    sizes[0] += len(chunk)
            return message

        async def drain() -> None:
            if journal and not body_read:
                await _drain(receive_)

        async def send_(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if extra_headers:
                    message = {**message, "headers": [*message.get("headers", ()), *extra_headers]}
            elif journal and message["type"] == "http.response.body" and sizes[1] <= BODY_LIMIT:
                chunk = message.get("body", b"")
                response_chunks.append(chunk)
                sizes[1] += len(chunk)
            await send(message)

        async def answer(admission: Admission, slept: bool) -> bool:
            """Apply an admission: its headers, its delay; True when the controls answered."""
            nonlocal extra_headers, fired
            verdict = admission.verdict
            if verdict is not None:
                extra_headers = verdict.headers()
                if not verdict.allowed:
                    detail = (
                        f"Rate limit of {admission.rate} per organization exceeded; "
                        f"retry after {verdict.retry_after} s"
                    )
                    await drain()
                    await _send_problem(send_, 429, detail)
                    return True
            decision = admission.decision
            if decision is None:
                return False
            fired = decision.fired
            if decision.delay and not slept:
                await asyncio.sleep(decision.delay)
            fault = decision.fault
            if fault is None:
                return False
            await drain()
            if fault.spec.drop:
                await _drop(receive)
                return True
            if fault.spec.status is not None:
                detail = f"Injected by the mock: fault {fault.id} ({fault.spec})"
                await _send_problem(send_, fault.spec.status, detail, _fault_headers(fault))
                return True
            return False

        async def unavailable(exc: StoreUnavailable) -> None:
            await drain()
            await _send_problem(send_, 503, str(exc), [(b"retry-after", b"%d" % exc.retry_after)])

        try:
            deferred = controls.defer(scope["method"], scope["path"], org)
            if deferred is None:
                try:
                    admission = await controls.admit(scope["method"], scope["path"], org)
                except StoreUnavailable as exc:
                    await unavailable(exc)
                    return
                if not await answer(admission, False):
                    await self.app(scope, receive_ if journal else receive, send_)
                return
            app_receive = receive_ if journal else receive
            await self._deferred(scope, app_receive, send_, deferred, answer, unavailable)
        finally:
            if journal:
                controls.record(
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

    async def _deferred(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        deferred: Deferred,
        answer: Callable[[Admission, bool], Awaitable[bool]],
        unavailable: Callable[[StoreUnavailable], Awaitable[None]],
    ) -> None:
        """Serve with the admission decided by the store's first operation (or at the answer's start).

        Until the app starts its answer nothing was sent, so the controls can still answer
        instead (429, a fault); the app's own answer is then dropped.
        """
        replaced = False

        async def send_(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                try:
                    admission = await deferred.resolve()
                except StoreUnavailable as exc:
                    replaced = True
                    await unavailable(exc)
                    return
                if await answer(admission, deferred.slept):
                    replaced = True
                    return
            await send(message)

        pending = PENDING.set(deferred)
        try:
            await self.app(scope, receive, send_)
        finally:
            PENDING.reset(pending)


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
