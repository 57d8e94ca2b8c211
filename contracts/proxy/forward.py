"""The way to the upstream: the request as sent (method, raw path, query, headers, body), and back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

__all__ = ["HOP_BY_HOP", "Upstream", "end_to_end"]

# Headers about one connection (RFC 9110 §7.6.1), not the message: each hop sets its own.
# Host and Content-Length are set by the HTTP client for the upstream's URL and the body sent.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
    }
)


# Headers httpx adds to every request unless told otherwise.
_CLIENT_DEFAULTS = frozenset({b"accept", b"accept-encoding", b"user-agent"})


def end_to_end(headers: list[tuple[bytes, bytes]], *, keep_length: bool = False) -> list[tuple[bytes, bytes]]:
    """``headers`` without the hop-by-hop ones (``Content-Length`` kept when ``keep_length``)."""
    return [
        (name, value)
        for name, value in headers
        if name.lower() not in HOP_BY_HOP or (keep_length and name.lower() == b"content-length")
    ]


class Upstream:
    """One pooled HTTP client to the upstream; TLS and its ``Host`` are the client's business."""

    def __init__(self, base_url: str, *, timeout: float) -> None:
        self._base = httpx.URL(base_url)
        self._prefix = self._base.raw_path.rstrip(b"/")
        # trust_env=False: an HTTP(S)_PROXY of the environment must not reroute the traffic we check.
        self._client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
        )

    def url(self, raw_path: bytes, query: bytes) -> httpx.URL:
        """The upstream's URL for a path as the client sent it (under the upstream's own prefix)."""
        return self._base.copy_with(raw_path=self._prefix + raw_path + (b"?" + query if query else b""))

    @asynccontextmanager
    async def send(
        self, method: str, raw_path: bytes, query: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> AsyncIterator[httpx.Response]:
        """The upstream's answer, its body not read yet (``aiter_raw`` streams it unchanged)."""
        sent = end_to_end(headers)
        request = self._client.build_request(method, self.url(raw_path, query), headers=sent, content=body)
        # The client's defaults (Accept, Accept-Encoding, User-Agent) only where the client sent them.
        names = {name.lower() for name, _ in sent}
        for default in _CLIENT_DEFAULTS - names:
            request.headers.pop(default.decode(), None)
        response = await self._client.send(request, stream=True)
        try:
            yield response
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()
