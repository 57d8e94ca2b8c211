"""ASGI middleware that refuses request bodies over the limit with 413 before anything parses them."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver.http.problems import BadBody, PayloadTooLarge

__all__ = ["BodyLimitMiddleware"]


class BodyLimitMiddleware:
    """Checks ``Content-Length`` up front; buffers chunked bodies up to the limit.

    A chunked body (no ``Content-Length``) is read here, counted chunk by chunk, and replayed
    with a ``Content-Length`` header, because connexion treats a body without one as absent.
    Raised problems are turned into responses by the exception middleware around this one.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        if length is not None:
            if not length.isdigit():
                raise BadBody("The Content-Length header is not a number")
            if int(length) > self.max_bytes:
                raise PayloadTooLarge(self.max_bytes)
        elif chunked:
            body = await self._read(receive)
            headers = [(n, v) for n, v in scope["headers"] if n != b"transfer-encoding"]
            headers.append((b"content-length", str(len(body)).encode("ascii")))
            scope = {**scope, "headers": headers}
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:  # bounded: every round adds bytes or ends, and size is capped below
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise PayloadTooLarge(self.max_bytes)
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
