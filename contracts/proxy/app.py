"""The proxy as an ASGI app: forwards each exchange unchanged, judges it, and serves ``/__proxy/``.

Without ``--enforce`` nothing changes in flight: the answer streams back as it comes, all
but its last chunk, which waits until the exchange is judged (a few tens of microseconds),
so what the answer taught the proxy is settled before the client can send its next request.
With ``--enforce``, a request that breaks the contract is answered 400/401/404/405/413/415
by the proxy and not forwarded, and an answer that leaks (a password, another key's
trunks) is replaced by a 502 problem naming the violation.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

from contracts.proxy.catalog import describe
from contracts.proxy.config import ProxyConfig
from contracts.proxy.exchange import Exchange, Request
from contracts.proxy.exchange_checks import Finding
from contracts.proxy.forward import Upstream, UpstreamError, end_to_end
from contracts.proxy.inspector import LEAKS, Inspector

__all__ = ["ADMIN_PREFIX", "ProxyApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ADMIN_PREFIX = "/__proxy"
_ADMIN_METHODS = {f"{ADMIN_PREFIX}/health": ("GET",), f"{ADMIN_PREFIX}/violations": ("GET", "DELETE")}


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class ProxyApp:
    """The validating reverse proxy in front of ``config.upstream``."""

    def __init__(self, config: ProxyConfig, say: Callable[[str], None] = _stderr) -> None:
        self.config = config
        self.say = say
        self.inspector = Inspector(config, say)
        self._upstream: Upstream | None = None

    @property
    def upstream(self) -> Upstream:
        if self._upstream is None:
            config = self.config
            self._upstream = Upstream(config.upstream, timeout=config.timeout, cafile=config.upstream_ca)
        return self._upstream

    async def aclose(self) -> None:
        if self._upstream is not None:
            await self._upstream.aclose()
            self._upstream = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            if scope["path"] == ADMIN_PREFIX or scope["path"].startswith(ADMIN_PREFIX + "/"):
                await self._admin(scope, send)
            else:
                await self._proxy(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- the traffic ------------------------------------------------------------------------------

    async def _proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        read = await _read_body(receive, self.config.max_body)
        if read is None:
            return  # the client left
        body, size = read
        if size > self.config.max_body:
            self.say(
                f"proxy: refused {scope['method']} {scope['path']}: a body over {self.config.max_body} bytes"
            )
            await send_problem(send, 413, f"The proxy holds bodies of at most {self.config.max_body} bytes")
            return
        inspector = self.inspector
        request = Request(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
            body=body,
            started=inspector.tick(),
        )
        try:
            operation, refused = inspector.on_request(request)
        except Exception as exc:  # a defect of the proxy must never break the traffic it watches
            self._defect("the request", request, exc)
            operation, refused = None, []
        template = operation.path if operation is not None else inspector.spec.template(request.path)
        if self.config.enforce and refused:
            status = await self._refuse(refused[0], request, send)
            inspector.record("client", refused, request, status, template)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        started_answer = False
        try:
            async with self.upstream.send(
                request.method, raw_path, scope.get("query_string", b""), scope["headers"], body
            ) as answer:
                status, raw_headers = answer.status, answer.headers
                chunks: list[bytes] = []
                pending: bytes | None = None
                if not self.config.enforce:
                    await send(_start(status, end_to_end(raw_headers, keep_length=True)))
                    started_answer = True
                received = 0
                async for chunk in answer.chunks():
                    if not chunk:
                        continue
                    received += len(chunk)
                    if received <= self.config.max_body:
                        chunks.append(chunk)
                    elif self.config.enforce:
                        raise UpstreamError(
                            f"an answer over {self.config.max_body} bytes, too large to judge"
                        )
                    if not self.config.enforce:
                        if pending is not None:
                            await send({"type": "http.response.body", "body": pending, "more_body": True})
                        pending = chunk
        except (UpstreamError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            why = str(exc) if isinstance(exc, UpstreamError) else type(exc).__name__
            where = f"{request.method} {template or request.path}"
            self.say(f"proxy: no whole answer from the upstream to {where}: {why}")
            if not started_answer:
                await send_problem(send, 502, f"No answer from the upstream: {why}")
            inspector.record("client", refused, request, None, template)
            return
        if received > self.config.max_body:
            where = f"{request.method} {template or request.path}"
            self.say(f"proxy: not judged: the answer to {where} is over {self.config.max_body} bytes")
            inspector.record("client", refused, request, status, template)
            await send({"type": "http.response.body", "body": pending or b"", "more_body": False})
            return
        exchange = Exchange(
            request=request,
            status=status,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers],
            body=b"".join(chunks),
            finished=inspector.tick(),
        )
        try:
            found = inspector.on_answer(exchange, operation, refused)
        except Exception as exc:  # as above: the answer still goes back unchanged
            self._defect("the answer", request, exc)
            found = []
        # Client violations carry the status the server answered them with.
        inspector.record("client", refused, request, exchange.status, template)
        inspector.record("server", found, request, exchange.status, template)
        if not self.config.enforce:
            await send({"type": "http.response.body", "body": pending or b"", "more_body": False})
            return
        blocked = [finding for finding in found if finding.check in LEAKS]
        if blocked:
            # The rule, not the detail: the detail names what leaked (another key's trunk ids).
            check = blocked[0].check
            detail = f"The upstream's answer broke the contract: {check} ({describe(check)})"
            await send_problem(send, 502, detail)
            return
        await send(_start(exchange.status, end_to_end(raw_headers, keep_length=True)))
        await send({"type": "http.response.body", "body": exchange.body, "more_body": False})

    def _defect(self, what: str, request: Request, exc: Exception) -> None:
        where = f"{request.method} {self.inspector.spec.template(request.path) or request.path}"
        self.say(f"proxy: could not judge {what} of {where} ({type(exc).__name__}); forwarded unchanged")

    async def _refuse(self, finding: Finding, request: Request, send: Send) -> int:
        status = finding.answer or 400
        headers: list[tuple[bytes, bytes]] = []
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        if status == 405:
            operations = self.inspector.spec.schema.raw_schema["paths"].get(
                self.inspector.spec.template(request.path) or "", {}
            )
            allow = ", ".join(m.upper() for m in ("get", "post", "patch", "delete") if m in operations)
            headers.append((b"allow", allow.encode()))
        detail = f"Refused by the proxy (--enforce): {finding.check}: {self.inspector.mask(finding.detail)}"
        await send_problem(send, status, detail, headers)
        return status

    # -- /__proxy/ --------------------------------------------------------------------------------

    async def _admin(self, scope: Scope, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        allowed = _ADMIN_METHODS.get(path)
        if allowed is None:
            await send_problem(send, 404, f"No such proxy endpoint; try {ADMIN_PREFIX}/violations")
        elif method not in allowed:
            detail = f"{method} is not allowed here; allowed: {', '.join(allowed)}"
            await send_problem(send, 405, detail, [(b"allow", ", ".join(allowed).encode())])
        elif path.endswith("/health"):
            await send_json(send, 200, self.inspector.health())
        elif method == "DELETE":
            self.inspector.log.clear()
            await send(_start(204, [(b"date", formatdate(usegmt=True).encode())]))
            await send({"type": "http.response.body", "body": b""})
        else:
            await send_json(
                send, 200, {**self.inspector.log.document(), "exchanges": self.inspector.exchanges}
            )


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, int] | None:
    """The body and its size; past ``limit`` bytes the rest is read and dropped. None: the client left."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks), size


def _start(status: int, headers: list[tuple[bytes, bytes]]) -> Message:
    return {"type": "http.response.start", "status": status, "headers": headers}


async def send_json(
    send: Send, status: int, document: Any, media_type: bytes = b"application/json", headers: Any = ()
) -> None:
    body = json.dumps(document).encode()
    # The proxy's own answers carry the Date an origin server sends (uvicorn's is off: see serve.py).
    date = formatdate(usegmt=True).encode()
    content = [(b"date", date), (b"content-type", media_type), (b"content-length", str(len(body)).encode())]
    content += headers
    await send(_start(status, content))
    await send({"type": "http.response.body", "body": body})


async def send_problem(send: Send, status: int, detail: str, headers: Any = ()) -> None:
    """An RFC 9457 problem, as the API answers its own errors."""
    title = HTTPStatus(status).phrase
    problem = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    await send_json(send, status, problem, b"application/problem+json", headers)
