"""ASGI middleware answering 404 for a spec path with a trailing slash, where Starlette would redirect."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.http.problems import AllowTable

__all__ = ["TrailingSlashMiddleware"]


class TrailingSlashMiddleware:
    """``/sip-trunks/`` is an unknown path (404), not a 307 to ``/sip-trunks``."""

    def __init__(self, app: ASGIApp, table: AllowTable) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/") and self.table.allow(path.rstrip("/")) is not None:
                raise HTTPException(404)  # the exception middleware around us makes it a problem
        await self.app(scope, receive, send)
