"""Mutants: the mock with one planted defect each, as ASGI middlewares reached only over HTTP.

Each mutant is a small class wrapping the mock's app, with a docstring saying what is wrong.
The suite must catch each under the check its test names. The next issue grows this corpus.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_TRUNK_PATH = re.compile(r"^/sip-trunks/(?P<id>[^/]+)$")


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

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value).encode()


@dataclass
class Rewriting:
    """Base of the mutants: buffers each response of ``app`` and lets ``rewrite`` change it."""

    app: App

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

        await self.app(scope, spy, buffer)

    def rewrite_request(self, scope: Scope) -> Scope:
        return scope

    def rewrite(self, seen: Seen) -> None:
        """Change the response in place; the default changes nothing."""


@dataclass
class LeakPasswordOnGet(Rewriting):
    """GET /sip-trunks/{id} returns the trunk's password (the create's body is remembered)."""

    passwords: dict[str, str] = field(default_factory=dict)

    def rewrite(self, seen: Seen) -> None:
        body = seen.json()
        if seen.method == "POST" and seen.path == "/sip-trunks" and seen.status == 201:
            self.passwords[body["id"]] = json.loads(seen.request_body)["password"]
        match = _TRUNK_PATH.match(seen.path)
        if seen.method == "GET" and match and seen.status == 200 and match["id"] in self.passwords:
            seen.set_json({**body, "password": self.passwords[match["id"]]})


@dataclass
class WrongDefaultPort(Rewriting):
    """A trunk created without a port gets 5080 instead of 5060, in every view of it."""

    ids: set[str] = field(default_factory=set)

    def rewrite(self, seen: Seen) -> None:
        body = seen.json()
        created = seen.method == "POST" and seen.path == "/sip-trunks" and seen.status == 201
        if created and "port" not in json.loads(seen.request_body):
            self.ids.add(body["id"])
        if isinstance(body, dict) and body.get("id") in self.ids:
            seen.set_json({**body, "port": 5080})
        elif isinstance(body, dict) and isinstance(body.get("trunks"), list):
            trunks = [{**t, "port": 5080} if t.get("id") in self.ids else t for t in body["trunks"]]
            seen.set_json({"trunks": trunks})


@dataclass
class AuthNotEnforced(Rewriting):
    """A request without an Authorization header is served as the first organization."""

    token: str = ""

    def rewrite_request(self, scope: Scope) -> Scope:
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"authorization"]
        if len(headers) == len(scope["headers"]):
            return {**scope, "headers": [*headers, (b"authorization", f"Bearer {self.token}".encode())]}
        return scope


@dataclass
class OtherOrgCanGet(Rewriting):
    """GET /sip-trunks/{id} by the second organization is served from the first one's trunks."""

    token: str = ""
    other: str = ""

    def rewrite_request(self, scope: Scope) -> Scope:
        headers = dict(scope["headers"])
        caller = headers.get(b"authorization", b"").decode()
        if scope["method"] == "GET" and _TRUNK_PATH.match(scope["path"]) and caller == f"Bearer {self.other}":
            headers[b"authorization"] = f"Bearer {self.token}".encode()
            return {**scope, "headers": list(headers.items())}
        return scope


@dataclass
class DeleteDoesNothing(Rewriting):
    """DELETE of an existing trunk answers 204 but the trunk stays (the app only sees a GET)."""

    def rewrite_request(self, scope: Scope) -> Scope:
        if scope["method"] == "DELETE" and _TRUNK_PATH.match(scope["path"]):
            return {**scope, "method": "GET", "mutant.deleting": True}
        return scope

    def rewrite(self, seen: Seen) -> None:
        if seen.deleting and seen.status == 200:
            seen.status, seen.body = 204, b""
            seen.headers = [(k, v) for k, v in seen.headers if k.lower() != b"content-type"]


@dataclass
class NoCascade(Rewriting):
    """Deleting a trunk leaves phone numbers pointing at it (as every later read shows)."""

    links: dict[str, str] = field(default_factory=dict)  # phone id -> trunk id it used
    deleted: set[str] = field(default_factory=set)

    def rewrite(self, seen: Seen) -> None:
        body = seen.json()
        match = _TRUNK_PATH.match(seen.path)
        if seen.method == "PATCH" and seen.status == 200 and isinstance(body, dict):
            self.links[body["id"]] = body["transfer_trunk_id"]
        elif seen.method == "DELETE" and match and seen.status == 204:
            self.deleted.add(match["id"])
        elif seen.method == "GET" and seen.path.startswith("/phone-numbers") and isinstance(body, dict):
            numbers = body.get("phone_numbers", [body])
            for number in numbers:
                stale = self.links.get(number.get("id"))
                if number.get("transfer_trunk_id") is None and stale in self.deleted:
                    number["transfer_trunk_id"] = stale
            seen.set_json(body)


@dataclass
class ErrorsAsPlainJson(Rewriting):
    """Error responses say ``application/json`` instead of ``application/problem+json``."""

    def rewrite(self, seen: Seen) -> None:
        if seen.status >= 400:
            others = [(k, v) for k, v in seen.headers if k.lower() != b"content-type"]
            seen.headers = [*others, (b"content-type", b"application/json")]
