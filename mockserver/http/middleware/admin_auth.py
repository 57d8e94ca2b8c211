"""ASGI middleware requiring the admin token on ``/__admin`` calls, when the mock has one (``--admin-token``).

The admin API reads and replaces everything (every organization's state and API keys,
faults, the journal), so a mock reachable from other machines should not serve it to
anyone. With a token, every ``/__admin`` call needs ``Authorization: Bearer <token>``,
compared in constant time; otherwise ``401`` with ``WWW-Authenticate``. Open without it:
``/__admin/health`` (liveness probes rarely carry credentials, and it shows only counts)
and the admin API's documents (``openapi.json``, Swagger UI), which hold no data.
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.http.paths import ADMIN_BASE_PATH, SPEC_DOCUMENT_PATH, UI_PATH

__all__ = ["OPEN_ADMIN_PATHS", "AdminAuthMiddleware", "is_admin_path"]

OPEN_ADMIN_PATHS = frozenset(
    f"{ADMIN_BASE_PATH}{path}" for path in ("/health", SPEC_DOCUMENT_PATH, UI_PATH, f"{UI_PATH}/")
)
_UI_PREFIX = f"{ADMIN_BASE_PATH}{UI_PATH}/"
_CHALLENGE = b'Bearer realm="sip-trunks mock admin"'


def is_admin_path(path: str) -> bool:
    """Whether ``path`` is under the admin API's base path."""
    return path == ADMIN_BASE_PATH or path.startswith(f"{ADMIN_BASE_PATH}/")


def _needs_token(path: str) -> bool:
    return is_admin_path(path) and path not in OPEN_ADMIN_PATHS and not path.startswith(_UI_PREFIX)


class AdminAuthMiddleware:
    """Answers ``401`` to an ``/__admin`` call without ``Authorization: Bearer <admin token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token or token != token.strip():
            raise ValueError("the admin token must be non-empty and without surrounding spaces")
        self.app = app
        self._expected = token.encode("utf-8")

    def __repr__(self) -> str:
        return "<AdminAuthMiddleware>"  # never the token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _needs_token(scope["path"]):
            await self.app(scope, receive, send)
            return
        values = [value for name, value in scope["headers"] if name == b"authorization"]
        if not values:
            await _unauthorized(
                send, "The admin API needs Authorization: Bearer <admin token> (--admin-token)"
            )
            return
        scheme, _, token = values[0].partition(b" ")
        # One header, the Bearer scheme, the token in constant time (its length may show, not its bytes).
        if (
            len(values) != 1
            or scheme.lower() != b"bearer"
            or not hmac.compare_digest(token.strip(), self._expected)
        ):
            await _unauthorized(send, "The admin token is not the one this mock was started with")
            return
        await self.app(scope, receive, send)


async def _unauthorized(send: Send, detail: str) -> None:
    body = json.dumps(
        {"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": detail}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", b"%d" % len(body)),
                (b"www-authenticate", _CHALLENGE),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
