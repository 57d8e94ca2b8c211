"""The harness of the middleware mutants: ``Rewriting`` buffers each exchange as a ``Seen`` to change."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "TRUNK_PATH",
    "UUID_PATTERN",
    "App",
    "Message",
    "Receive",
    "Rewriting",
    "Scope",
    "Seen",
    "Send",
    "json_body",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

TRUNK_PATH = re.compile(r"^/sip-trunks/(?P<id>[^/]+)$")
UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass
class Seen:
    """One exchange as the middleware sees it; ``rewrite`` may change the response fields."""

    method: str
    path: str
    authorization: str | None
    request_body: bytes
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    # The request was a DELETE that the mutant turned into a GET.
    deleting: bool = False
    # The request's Content-Type header, as the client sent it.
    content_type: str | None = None

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def sent(self) -> Any:
        """The request's JSON body as the client sent it, or None."""
        try:
            return json.loads(self.request_body)
        except ValueError:
            return None

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value).encode()

    def set_header(self, name: bytes, value: bytes | None) -> None:
        """Replace (or, with None, remove) a response header."""
        others = [(k, v) for k, v in self.headers if k.lower() != name]
        self.headers = others if value is None else [*others, (name, value)]

    @property
    def created(self) -> bool:
        return self.method == "POST" and self.path == "/sip-trunks" and self.status == 201


@dataclass
class Rewriting:
    """Base of the middleware mutants: buffers each response of ``app`` and lets ``rewrite`` change it.

    On its own it changes nothing: the false-alarm tests serve the mock through it.
    """

    app: App

    @classmethod
    def around(cls, app: App, tokens: tuple[str, str]) -> Rewriting:
        """The mutant around ``app``, for a mock whose organizations have ``tokens``."""
        return cls(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = self.rewrite_request(scope)
        chunks: list[bytes] = []
        start: Message = {}
        body: list[bytes] = []

        async def spy() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        app_receive: Receive = spy
        if type(self).rewrite_body is not Rewriting.rewrite_body:
            scope, app_receive = await self._replaced_body(scope, spy, chunks)

        async def buffer(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            headers = dict(scope.get("headers") or [])
            seen = Seen(
                method="DELETE" if scope.get("mutant.deleting") else scope["method"],
                path=scope["path"],
                authorization=(headers.get(b"authorization") or b"").decode() or None,
                request_body=b"".join(chunks),
                status=start["status"],
                headers=[(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"],
                body=b"".join(body),
                deleting=bool(scope.get("mutant.deleting")),
                content_type=(headers.get(b"content-type") or b"").decode("latin-1") or None,
            )
            self.rewrite(seen)
            await send(
                {
                    "type": "http.response.start",
                    "status": seen.status,
                    "headers": [*seen.headers, (b"content-length", str(len(seen.body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": seen.body})

        await self.app(scope, app_receive, buffer)

    async def _replaced_body(self, scope: Scope, spy: Receive, chunks: list[bytes]) -> tuple[Scope, Receive]:
        """Read the whole request body, let ``rewrite_body`` change it, and replay it to the app."""
        while True:
            message = await spy()
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        if message["type"] != "http.request":
            return scope, spy
        new = self.rewrite_body(scope, b"".join(chunks))
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        scope = {**scope, "headers": [*headers, (b"content-length", str(len(new)).encode())]}
        pending = [{"type": "http.request", "body": new, "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await spy()

        return scope, replay

    def rewrite_request(self, scope: Scope) -> Scope:
        return scope

    def rewrite_body(self, scope: Scope, body: bytes) -> bytes:
        """Change the request body before the app reads it; the default (not overridden) streams it."""
        return body

    def rewrite(self, seen: Seen) -> None:
        """Change the response in place; the default changes nothing."""


def json_body(body: bytes) -> Any:
    """The JSON a request body holds, or None when it is not JSON."""
    try:
        return json.loads(body)
    except ValueError:
        return None
