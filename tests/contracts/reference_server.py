"""A second, independent implementation of the contract, for the false-alarm runs.

Written from the spec's decisions and the README, not from the mock: it imports nothing of
``mockserver`` or ``contracts`` and validates with standard parsers (``ipaddress`` for
hosts, ``uuid`` for ids, ``json`` with NaN refused), as a strict real server would. Every
check of the suite must pass against it on any seed: a check that fails here fires on a
correct server.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 65536
MAX_TRUNKS = 1000
TRUNK_FIELDS = {"name", "host", "port", "username", "password"}
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Problem(Exception):
    """An error answer: status, title and a detail naming what was wrong."""

    def __init__(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers or {}


def valid_host(host: str) -> bool:
    """A DNS name (last label starting with a letter), a dotted IPv4 or a bracketed IPv6 literal."""
    if host.startswith("[") and host.endswith("]"):
        inner = host[1:-1]
        if "%" in inner:  # zone ids are not part of RFC 3986's IP-literal
            return False
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            return False
        return True
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        pass
    else:
        return True
    labels = host.split(".")
    return (
        len(host) <= 253
        and all(_LABEL.match(label) for label in labels)
        and labels[-1][0].isascii()
        and labels[-1][0].isalpha()
    )


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    if name not in body:
        if required:
            raise Problem(400, "Bad Request", f"'{name}' is a required property")
        return None
    value = body[name]
    if not isinstance(value, str):
        raise Problem(400, "Bad Request", f"'{name}' must be a string")
    if not 1 <= len(value) <= 255:
        raise Problem(400, "Bad Request", f"'{name}' must be 1 to 255 characters long")
    return value


def parse_trunk(body: Any) -> dict[str, Any]:
    """The fields of a valid create request, or ``Problem(400)`` naming the first bad one."""
    if not isinstance(body, dict):
        raise Problem(400, "Bad Request", "the body must be a JSON object")
    unknown = sorted(set(body) - TRUNK_FIELDS)
    if unknown:
        raise Problem(400, "Bad Request", f"unknown property '{unknown[0]}'")
    name, username = _text(body, "name"), _text(body, "username")
    password = _text(body, "password")
    for field_name, value in (("name", name), ("username", username)):
        if value is not None and _CONTROL.search(value):
            raise Problem(400, "Bad Request", f"'{field_name}' must not hold control characters")
    host = body.get("host")
    if "host" not in body:
        raise Problem(400, "Bad Request", "'host' is a required property")
    if not isinstance(host, str) or not 1 <= len(host) <= 253 or not valid_host(host):
        raise Problem(
            400, "Bad Request", "'host' must be a DNS name, an IPv4 address or a bracketed IPv6 literal"
        )
    port = body.get("port", 5060)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise Problem(400, "Bad Request", "'port' must be an integer from 1 to 65535")
    assert name is not None and username is not None and password is not None
    return {"name": name, "host": host, "port": port, "username": username, "password": password}


def _refuse_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise Problem(400, "Bad Request", "the body is not valid JSON") from exc


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Organization:
    trunks: dict[str, dict[str, Any]] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    phones: dict[str, dict[str, Any]] = field(default_factory=dict)


ROUTES: dict[str, tuple[str, ...]] = {
    "/sip-trunks": ("GET", "POST"),
    "/sip-trunks/{id}": ("GET", "DELETE"),
    "/phone-numbers": ("GET",),
    "/phone-numbers/{id}": ("GET", "PATCH"),
}


def _route(path: str) -> tuple[str, str | None] | None:
    if path in ("/sip-trunks", "/phone-numbers"):
        return path, None
    for collection in ("/sip-trunks", "/phone-numbers"):
        rest = path.removeprefix(collection + "/")
        if rest != path and rest and "/" not in rest:
            return f"{collection}/{{id}}", unquote(rest)
    return None


class ReferenceApp:
    """The contract as an ASGI app: one organization per accepted key, state in memory."""

    def __init__(self, tokens: tuple[str, ...]) -> None:
        self.orgs = {token: self._new_org() for token in tokens}
        self.lock = threading.Lock()

    @staticmethod
    def _new_org() -> Organization:
        org = Organization()
        for number in ("+14155550100", "+14155550101", "+14155550102"):
            phone_id = str(uuid.uuid4())
            org.phones[phone_id] = {
                "id": phone_id,
                "number": number,
                "transfer_trunk_id": None,
                "created_at": _now(),
            }
        return org

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                break
        try:
            status, payload, extra = self.handle(scope["method"], scope["path"], headers, body)
        except Problem as problem:
            status, extra = problem.status, problem.headers
            payload = {
                "type": "about:blank",
                "title": problem.title,
                "status": status,
                "detail": problem.detail,
            }
        await self._send(send, status, payload, extra)

    @staticmethod
    async def _send(send: Send, status: int, payload: Any, extra: dict[str, str]) -> None:
        content = b"" if payload is None else json.dumps(payload).encode()
        media = "application/problem+json" if status >= 400 else "application/json"
        head = [(b"content-length", str(len(content)).encode())]
        if payload is not None:
            head.append((b"content-type", media.encode()))
        head += [(key.lower().encode(), value.encode()) for key, value in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": content})

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        route = _route(path)
        if route is None:
            raise Problem(404, "Not Found", "no such path")
        template, ident = route
        if method not in ROUTES[template]:
            raise Problem(
                405,
                "Method Not Allowed",
                f"{method} is not allowed here",
                {"Allow": ", ".join(ROUTES[template])},
            )
        org = self._authenticate(headers.get("authorization"))
        with self.lock:
            if template == "/sip-trunks":
                if method == "GET":
                    trunks = sorted(org.trunks.values(), key=lambda trunk: (trunk["created_at"], trunk["id"]))
                    return 200, {"trunks": trunks}, {}
                return self._create(org, headers, body)
            if template == "/sip-trunks/{id}":
                assert ident is not None
                trunk = org.trunks.get(ident)
                if trunk is None:
                    raise Problem(404, "Not Found", "no SIP trunk with this id")
                if method == "GET":
                    return 200, trunk, {}
                del org.trunks[ident], org.passwords[ident]
                for phone in org.phones.values():
                    if phone["transfer_trunk_id"] == ident:
                        phone["transfer_trunk_id"] = None
                return 204, None, {}
            if template == "/phone-numbers":
                return 200, {"phone_numbers": list(org.phones.values())}, {}
            assert ident is not None
            if method == "PATCH":
                self._media_type(headers, body)
            phone = org.phones.get(ident)
            if method == "GET":
                if phone is None:
                    raise Problem(404, "Not Found", "no phone number with this id")
                return 200, phone, {}
            trunk_id = self._link(parse_json(body))
            if phone is None:
                raise Problem(404, "Not Found", "no phone number with this id")
            if trunk_id is not None and trunk_id not in org.trunks:
                raise Problem(422, "Unprocessable Entity", "'transfer_trunk_id' names no SIP trunk")
            phone["transfer_trunk_id"] = trunk_id
            return 200, phone, {}

    def _authenticate(self, authorization: str | None) -> Organization:
        scheme, _, token = (authorization or "").partition(" ")
        org = self.orgs.get(token) if scheme.lower() == "bearer" else None
        if org is None:
            raise Problem(
                401, "Unauthorized", "a valid bearer token is required", {"WWW-Authenticate": "Bearer"}
            )
        return org

    @staticmethod
    def _media_type(headers: dict[str, str], body: bytes) -> None:
        if len(body) > MAX_BODY:
            raise Problem(413, "Content Too Large", "the body is over 64 KiB")
        media, _, parameters = headers.get("content-type", "").partition(";")
        if media.strip().lower() != "application/json":
            raise Problem(415, "Unsupported Media Type", "the Content-Type must be application/json")
        charset = re.search(r"charset\s*=\s*\"?([^\";\s]+)", parameters, re.I)
        if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
            raise Problem(400, "Bad Request", "the body must be UTF-8")

    def _create(
        self, org: Organization, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        self._media_type(headers, body)
        fields = parse_trunk(parse_json(body))
        if len(org.trunks) >= MAX_TRUNKS:
            raise Problem(409, "Conflict", "the organization has as many SIP trunks as it may")
        trunk_id = str(uuid.uuid4())
        org.passwords[trunk_id] = fields.pop("password")
        trunk = {"id": trunk_id, **fields, "created_at": _now()}
        org.trunks[trunk_id] = trunk
        return 201, trunk, {"Location": f"/sip-trunks/{trunk_id}"}

    @staticmethod
    def _link(body: Any) -> str | None:
        if not isinstance(body, dict) or set(body) != {"transfer_trunk_id"}:
            raise Problem(400, "Bad Request", "the body must be exactly {'transfer_trunk_id': ...}")
        value = body["transfer_trunk_id"]
        if value is None:
            return None
        try:
            # uuid.UUID also takes braces, "urn:uuid:" and no hyphens: the contract wants 8-4-4-4-12.
            if isinstance(value, str) and len(value) == 36 and str(uuid.UUID(value)) == value.lower():
                return value
        except ValueError:
            pass
        raise Problem(400, "Bad Request", "'transfer_trunk_id' must be a UUID or null")


@contextlib.contextmanager
def serving(tokens: tuple[str, ...]) -> Iterator[str]:
    """Serve a fresh ``ReferenceApp`` on a free 127.0.0.1 port until the block ends."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(ReferenceApp(tokens), host="127.0.0.1", port=port, log_level="error", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the reference server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
