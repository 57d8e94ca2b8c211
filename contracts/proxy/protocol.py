"""uvicorn's HTTP/1.1 protocol, writing each answer's head with its first body bytes: one write, not two.

uvicorn writes the status line and headers as soon as the app starts its answer, then each
body chunk apart. The proxy starts an answer as soon as the upstream's head arrives and sends
its last chunk once the exchange is judged: two writes, so two TCP segments, two wake-ups of
the client and twice the kernel's work per answer. Here the head waits for the first body
bytes (or for the end of the answer) and leaves with them; nothing else changes.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

__all__ = ["OneWriteProtocol"]


class _Holding:
    """Stands in for the transport while uvicorn writes: keeps what it writes, passes the rest on."""

    def __init__(self, transport: Any, held: bytes = b"") -> None:
        self.transport = transport
        self.held = [held] if held else []

    def write(self, data: bytes) -> None:
        self.held.append(data)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def flush(self) -> None:
        if self.held:
            self.transport.write(b"".join(self.held))
            self.held = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class _OneWriteCycle(RequestResponseCycle):
    """A request-response cycle whose answer's head is held until its first body message."""

    _head: bytes = b""

    async def send(self, message: Any) -> None:
        starting = message["type"] == "http.response.start" and not self.response_started
        if not starting and not self._head:
            await super().send(message)
            return
        holding = _Holding(self.transport, self._head)
        self.transport = cast(asyncio.Transport, holding)
        try:
            await super().send(message)
        finally:
            self.transport = holding.transport
        if starting:
            self._head = b"".join(holding.held)
        else:
            self._head = b""
            if not self.disconnected:
                holding.flush()


class OneWriteProtocol(HttpToolsProtocol):
    """``uvicorn.Config(http=OneWriteProtocol)``: httptools, with answers written in one piece."""

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        cycle.__class__ = _OneWriteCycle  # the same object, state and all; only ``send`` differs
        super()._start_asgi_task(cycle, app)
