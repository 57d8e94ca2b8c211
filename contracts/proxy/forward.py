"""The way to the upstream: a small pooled HTTP/1.1 client; the request as it came, the answer as it comes.

Why not httpx: with one shared ``httpx.AsyncClient`` (a pool of 100), a bare forwarder did
480-1,200 req/s here at 0.8-1.9 ms of CPU per request, against 8,900-13,100 req/s at ~53 us
for this client. httpx, httpcore, anyio and h11 cost ~400 us per request even one at a
time, and httpcore's pool bookkeeping grows with every connection it holds (encode/httpcore#1035).
The proxy needs none of httpx's features (redirects, cookies, auth, decoding), only to write
the request unchanged and read the answer as it comes. So: asyncio streams, one keep-alive
pool, TLS by ``ssl`` for an ``https://`` upstream, ``Host`` set to the upstream's.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["HOP_BY_HOP", "Answer", "Upstream", "UpstreamError", "end_to_end"]

# Headers about one connection (RFC 9110 §7.6.1), not the message: each hop sets its own.
# Host and Content-Length are set again for the upstream's URL and the body sent.
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
_CHUNK = 65536
_MAX_IDLE = 100
_NO_BODY = (204, 304)


class UpstreamError(ConnectionError):
    """The upstream could not be reached, or broke the HTTP/1.1 framing of its answer."""


def end_to_end(headers: list[tuple[bytes, bytes]], *, keep_length: bool = False) -> list[tuple[bytes, bytes]]:
    """``headers`` without the hop-by-hop ones (``Content-Length`` kept when ``keep_length``)."""
    return [
        (name, value)
        for name, value in headers
        if name.lower() not in HOP_BY_HOP or (keep_length and name.lower() == b"content-length")
    ]


@dataclass
class Answer:
    """The upstream's answer: status and headers as sent; ``chunks()`` streams the body once."""

    status: int
    headers: list[tuple[bytes, bytes]]
    _reader: asyncio.StreamReader
    _length: int | None  # None: chunked, or until the connection closes
    _chunked: bool
    _reusable: bool
    done: bool = field(default=False)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives (chunked framing undone)."""
        reader = self._reader
        if self._chunked:
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass  # trailers: dropped, as hop-by-hop
                    break
                yield await reader.readexactly(size)
                await reader.readexactly(2)
        elif self._length is not None:
            left = self._length
            while left > 0:
                chunk = await reader.read(min(left, _CHUNK))
                if not chunk:
                    raise UpstreamError("the upstream closed the connection before the end of its answer")
                left -= len(chunk)
                yield chunk
        else:
            self._reusable = False
            while chunk := await reader.read(_CHUNK):
                yield chunk
        self.done = True


class Upstream:
    """A keep-alive pool of HTTP/1.1 connections to one upstream base URL."""

    def __init__(self, base_url: str, *, timeout: float, cafile: Path | None = None) -> None:
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._authority = parts.netloc.rsplit("@", 1)[-1].encode("idna")
        self._prefix = parts.path.rstrip("/").encode()
        # cafile: trusted instead of the system's store (a private CA); hostnames are checked either way.
        self._ssl = ssl.create_default_context(cafile=cafile) if self._https else None
        self._timeout = timeout
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    def target(self, raw_path: bytes, query: bytes) -> bytes:
        """The request target on the upstream: its path prefix, then the path as the client sent it."""
        return self._prefix + raw_path + (b"?" + query if query else b"")

    @asynccontextmanager
    async def send(
        self, method: str, raw_path: bytes, query: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> AsyncIterator[Answer]:
        """The upstream's answer to the request, its body still to read with ``chunks()``."""
        head = [
            f"{method} ".encode() + self.target(raw_path, query) + b" HTTP/1.1",
            b"host: " + self._authority,
        ]
        head += [name + b": " + value for name, value in end_to_end(headers)]
        if body or method in ("POST", "PUT", "PATCH"):
            head.append(b"content-length: " + str(len(body)).encode())
        message = b"\r\n".join(head) + b"\r\n\r\n" + body
        answer, writer = await self._exchange(message, method)
        try:
            yield answer
        finally:
            if answer.done and answer._reusable and len(self._idle) < _MAX_IDLE:
                self._idle.append((answer._reader, writer))
            else:
                writer.close()

    async def _exchange(self, message: bytes, method: str) -> tuple[Answer, asyncio.StreamWriter]:
        # An idle connection the upstream closed meanwhile fails before any answer: retried once, fresh.
        for attempt in (1, 2):
            reused = bool(self._idle) and attempt == 1
            try:
                async with asyncio.timeout(self._timeout):
                    reader, writer = self._idle.pop() if reused else await self._connect()
                    try:
                        writer.write(message)
                        await writer.drain()
                        return await self._answer(reader, method), writer
                    except BaseException:
                        writer.close()
                        raise
            except (OSError, asyncio.IncompleteReadError) as exc:
                if reused:
                    continue
                if isinstance(exc, ssl.SSLCertVerificationError):  # what was refused, not OpenSSL's codes
                    raise UpstreamError(f"TLS certificate verify failed: {exc.verify_message}") from exc
                raise UpstreamError(f"{type(exc).__name__}: {exc}") from exc
            except TimeoutError:
                raise UpstreamError(f"no answer within {self._timeout:g} s") from None
            except (asyncio.LimitOverrunError, ValueError) as exc:
                raise UpstreamError(f"an answer that is not HTTP/1.1: {exc}") from exc
        raise UpstreamError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        server_hostname = self._host if self._ssl is not None else None
        return await asyncio.open_connection(
            self._host, self._port, ssl=self._ssl, server_hostname=server_hostname, limit=_CHUNK
        )

    async def _answer(self, reader: asyncio.StreamReader, method: str) -> Answer:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *lines = head[:-4].split(b"\r\n")
            version, _, rest = status_line.partition(b" ")
            status = int(rest[:3])
            if status >= 200 or status == 101:
                break  # 1xx (100 Continue): informational, the real answer follows
        headers = []
        length: int | None = None
        chunked = False
        close = version == b"HTTP/1.0"
        for line in lines:
            name, _, value = line.partition(b":")
            name, value = name.strip(), value.strip()
            headers.append((name, value))
            lower = name.lower()
            if lower == b"content-length":
                length = int(value)
            elif lower == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif lower == b"connection":
                close = b"close" in value.lower() or (close and b"keep-alive" not in value.lower())
        if method == "HEAD" or status in _NO_BODY or 100 <= status < 200:
            length, chunked = 0, False
        elif chunked:
            length = None
        return Answer(status, headers, reader, length, chunked, _reusable=not close)

    async def aclose(self) -> None:
        while self._idle:
            _, writer = self._idle.pop()
            writer.close()
            with suppress(Exception):
                await writer.wait_closed()
