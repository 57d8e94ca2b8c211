"""Targets that a QA engineer's checker may meet: broken or hostile, each a small app on 127.0.0.1.

Every behaviour is bounded in time by itself (a stream stops after ``STREAM_LIMIT`` seconds or
when the client goes away), so a checker that does not give up still lets the test end.

- ``Misbehaving`` wraps the mock: requests that ``when`` selects get ``behaviour`` instead of
  the mock's answer (an endless body, a huge declared body, a dripped body, a hang, 429).
- ``Shapes`` wraps the mock and rewrites answers (untrusted shapes, ids that steer writes),
  recording every request it saw, raw path included.
- ``drip_head_server`` is a raw socket server that sends its status line a byte at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from .mutants.harness import App, Receive, Rewriting, Scope, Seen, Send

__all__ = [
    "STREAM_LIMIT",
    "Misbehaving",
    "Shapes",
    "after",
    "after_first_create",
    "declared_huge",
    "drip_body",
    "drip_head_server",
    "endless_body",
    "gets",
    "hang",
    "throttled",
]

# No behaviour lasts longer than this, whatever the client does.
STREAM_LIMIT = 30.0
_CHUNK = b"[" + b"0," * 32767 + b"0]"  # 64 KiB of valid-looking JSON

Behaviour = Callable[[Scope, Receive, Send], Awaitable[None]]
Selector = Callable[[Scope], bool]


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _stream(receive: Receive, send: Send, chunks: Callable[[], Awaitable[bytes | None]]) -> None:
    """Send body chunks until ``chunks`` says None, the client leaves, or ``STREAM_LIMIT`` passes."""
    gone = asyncio.ensure_future(_until_disconnect(receive))
    ends = time.monotonic() + STREAM_LIMIT
    try:
        while not gone.done() and time.monotonic() < ends:
            chunk = await chunks()
            if chunk is None:
                break
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        gone.cancel()


async def _as_fast_as_it_goes() -> bytes:
    await asyncio.sleep(0)  # let the disconnect watcher run between chunks
    return _CHUNK


async def endless_body(scope: Scope, receive: Receive, send: Send) -> None:
    """200, JSON, chunked, and a body that never ends."""
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await _stream(receive, send, _as_fast_as_it_goes)


async def declared_huge(scope: Scope, receive: Receive, send: Send) -> None:
    """200 with ``Content-Length: 200 MB``, then the body as fast as it goes."""
    headers = [(b"content-type", b"application/json"), (b"content-length", str(200 * 1000 * 1000).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await _stream(receive, send, _as_fast_as_it_goes)


def drip_body(interval: float = 0.05) -> Behaviour:
    """200 with a short declared body sent one byte every ``interval`` seconds."""

    async def behaviour(scope: Scope, receive: Receive, send: Send) -> None:
        body = b'{"trunks": []}' * 100
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        remaining = iter(body)

        async def chunk() -> bytes | None:
            await asyncio.sleep(interval)
            byte = next(remaining, None)
            return None if byte is None else bytes([byte])

        await _stream(receive, send, chunk)

    return behaviour


async def hang(scope: Scope, receive: Receive, send: Send) -> None:
    """No answer at all, until the client leaves (or ``STREAM_LIMIT``)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_until_disconnect(receive), STREAM_LIMIT)


def throttled(retry_after: str = "1") -> Behaviour:
    """``429`` with ``Retry-After``, as the contract documents it."""

    async def behaviour(scope: Scope, receive: Receive, send: Send) -> None:
        body = json.dumps({"type": "about:blank", "title": "Too Many Requests", "status": 429}).encode()
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", retry_after.encode()),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return behaviour


@dataclass
class Misbehaving:
    """The mock, except that requests ``when`` selects get ``behaviour``; counts what it saw."""

    app: App
    when: Selector
    behaviour: Behaviour
    seen: list[tuple[str, str]] = field(default_factory=list)
    misbehaved: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.seen.append((scope["method"], scope["path"]))
        if self.when(scope):
            self.misbehaved += 1
            await self.behaviour(scope, receive, send)
            return
        await self.app(scope, receive, send)


class Shapes(Rewriting):
    """The mock with answers rewritten by ``change``; every request's method and raw path recorded."""

    def __init__(self, app: App, change: Callable[[Seen], None]) -> None:
        super().__init__(app)
        self._change = change
        self.requests: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope["path"].encode()
            self.requests.append((scope["method"], raw.decode("latin-1")))
        await super().__call__(scope, receive, send)

    def rewrite(self, seen: Seen) -> None:
        self._change(seen)


def gets(path_prefix: str) -> Selector:
    """Selects the GETs whose path starts with ``path_prefix`` (and is longer: an item)."""
    return lambda scope: scope["method"] == "GET" and scope["path"].startswith(path_prefix)


def after(count: int) -> Selector:
    """Selects every request after the first ``count``."""
    seen = 0

    def select(scope: Scope) -> bool:
        nonlocal seen
        seen += 1
        return seen > count

    return select


def after_first_create() -> Selector:
    """Selects every request after the first ``POST /sip-trunks`` (which the mock answers)."""
    posted = False

    def select(scope: Scope) -> bool:
        nonlocal posted
        if posted:
            return True
        if scope["method"] == "POST" and scope["path"] == "/sip-trunks":
            posted = True
        return False

    return select


@contextlib.contextmanager
def drip_head_server(interval: float = 0.1) -> Iterator[str]:
    """A server that answers every request with a status line dripped one byte per ``interval``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def answer(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(1)
            with contextlib.suppress(OSError):
                conn.recv(65536)
                ends = time.monotonic() + STREAM_LIMIT
                for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" * 1000:
                    if stop.is_set() or time.monotonic() > ends:
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(interval)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()
