"""ASGI middleware writing one ``key=value`` log line per request, naming the org by a hash of its key."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver.domain.models import org_key
from mockserver.http.paths import ADMIN_BASE_PATH

__all__ = ["ACCESS_LOGGER", "AccessLogMiddleware", "org_of"]

ACCESS_LOGGER = "mockserver.access"


@functools.lru_cache(maxsize=4096)
def _org_of_header(authorization: bytes) -> str:
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return "-"
    return org_key(token)


def org_of(scope: Scope) -> str:
    """The organization id of the request's bearer token, or ``-``; never the token."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return _org_of_header(value)
    return "-"


LineWriter = Callable[[str], None]
"""Where the lines go: ``sip-trunks mock`` writes them in batches (``mockserver.log_output``)."""


class AccessLogMiddleware:
    """Logs ``method path status duration_ms org``; never tokens, query strings or bodies.

    Each line goes to ``write`` when one is given, else to the ``mockserver.access`` logger
    at INFO (embedded mocks: the host program's logging decides).
    """

    def __init__(self, app: ASGIApp, write: LineWriter | None = None) -> None:
        self.app = app
        self.logger = logging.getLogger(ACCESS_LOGGER)
        self.write = write or self._log
        self._through_logging = write is None

    def _log(self, line: str) -> None:
        logger = self.logger
        # Handed to the handlers without logging's caller lookup (findCaller walks the stack)
        # or %-formatting: a third of the cost of logger.info().
        logger.handle(logger.makeRecord(logger.name, logging.INFO, __file__, 0, line, (), None))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self._through_logging and not self.logger.isEnabledFor(logging.INFO)):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client sees if the app fails before answering

        async def send_(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_)
        finally:
            # raw_path keeps the percent-encoding, so the line stays one token per value; some
            # servers include the query string in it, which may hold a token: cut it off.
            raw = scope.get("raw_path") or quote(scope["path"]).encode("ascii")
            path = raw.partition(b"?")[0].decode("latin-1")
            # An admin call's bearer token is the admin token, not an organization's: no hash of it.
            org = "-" if scope["path"].startswith(ADMIN_BASE_PATH) else org_of(scope)
            self.write(
                f"method={scope['method']} path={path} status={status:d} "
                f"duration_ms={(time.perf_counter() - start) * 1000:.2f} org={org}"
            )
