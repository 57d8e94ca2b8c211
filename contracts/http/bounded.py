"""Every request to a target within bounds: a whole-request deadline and a cap on the body read.

A target under test may be broken or hostile. ``httpx`` (like ``requests``) bounds each read,
not the request: a server that drips its headers or its body a byte at a time never trips a
per-read timeout, and one that sends an endless body is read until memory runs out. Here:

- ``DeadlineBackend`` is httpcore's network backend with every connect, read and write
  clamped to the time left before the current request's deadline (a ``ContextVar``, so each
  thread has its own), which makes the timeout hold for connect + headers + body together;
- ``fetch`` sends one request under a deadline and reads at most ``max_body`` bytes of the
  (decoded) body, refusing a larger declared ``Content-Length`` before reading any of it.

A request may also be given a ``cancelled`` test: while it waits for bytes it looks up
every ``POLL`` seconds, and ends with ``Cancelled`` once the test says so (the run was
interrupted in another thread: a lane's request to a target that hangs must not hold the
run's way out until its deadline).

Exceptions (all ``httpx.TransportError``)::

    DeadlineExceeded   the whole request took longer than its deadline
    ResponseTooLarge   the body is, or says it is, larger than the cap
    Cancelled          the request's ``cancelled`` test said stop while it waited
"""

from __future__ import annotations

import ssl
import time
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import httpcore
import httpx

__all__ = [
    "DEFAULT_MAX_BODY",
    "Cancelled",
    "DeadlineExceeded",
    "Fetched",
    "ResponseTooLarge",
    "bounded_client",
    "deadline",
    "fetch",
    "format_size",
]

# Above the contract's largest answer (1,000 trunks, every field at its longest: 0.9 MB), and low
# enough that a target answering just under it every time keeps the checker under ~300 MiB.
DEFAULT_MAX_BODY = 2 * 1024 * 1024
_CHUNK = 64 * 1024

# How often a cancellable read looks up from waiting.
POLL = 0.1

# The current request's deadline (``time.monotonic()``), None outside ``deadline()``.
_deadline: ContextVar[float | None] = ContextVar("request_deadline", default=None)
# The current request's cancellation test, None when it cannot be cancelled.
_cancelled: ContextVar[Callable[[], bool] | None] = ContextVar("request_cancelled", default=None)


class DeadlineExceeded(httpx.TimeoutException):
    """The request (connect, headers and body together) outlasted its deadline."""


class Cancelled(httpx.TransportError):
    """The request's ``cancelled`` test said stop while it waited for the target."""


class ResponseTooLarge(httpx.TransportError):
    """The response body is, or declares itself, larger than the cap; reading stopped there."""

    def __init__(self, message: str, *, limit: int, declared: int | None) -> None:
        super().__init__(message)
        self.limit = limit
        self.declared = declared


def format_size(size: int) -> str:
    """``8 MiB``, ``512 KiB`` or ``300 bytes``, for messages."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} bytes"


@contextmanager
def deadline(
    seconds: float, *, not_after: float | None = None, cancelled: Callable[[], bool] | None = None
) -> Iterator[float]:
    """Within this block, network operations of this thread end by ``seconds`` from now.

    ``not_after`` (a ``time.monotonic()`` value) brings it earlier still, e.g. the end of a
    clean-up that must finish before the process does; ``cancelled`` ends a wait as soon
    as it returns True.
    """
    at = time.monotonic() + seconds
    if not_after is not None:
        at = min(at, not_after)
    token = _deadline.set(at)
    cancel_token = _cancelled.set(cancelled)
    try:
        yield at
    finally:
        _cancelled.reset(cancel_token)
        _deadline.reset(token)


def _remaining(timeout: float | None, error: type[Exception]) -> float | None:
    """The operation's timeout clamped to the deadline; ``error`` once the deadline has passed."""
    at = _deadline.get()
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every read and write ends by the current request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        cancelled = _cancelled.get()
        if cancelled is None:
            return self._inner.read(max_bytes, _remaining(timeout, httpcore.ReadTimeout))
        while True:  # wait in slices, looking up between them
            left = _remaining(timeout, httpcore.ReadTimeout)
            if cancelled():
                raise httpcore.ReadError("cancelled: the run is stopping")
            try:
                return self._inner.read(max_bytes, POLL if left is None else min(left, POLL))
            except httpcore.ReadTimeout:
                if left is not None and left <= POLL:
                    raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _remaining(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = _remaining(timeout, httpcore.ConnectTimeout)
        stream = self._inner.start_tls(ssl_context, server_hostname, left)
        return _DeadlineStream(stream)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, with connects and streams bound by the request's deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _remaining(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        left = _remaining(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_unix_socket(path, left, socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def bounded_transport() -> httpx.HTTPTransport:
    """httpx's transport on a connection pool whose network operations obey ``deadline()``.

    httpx takes no network backend, so its pool is rebuilt with one (same TLS context).
    ``tests/contracts/test_hostile_target.py`` fails if a new httpx stops honouring it.
    """
    transport = httpx.HTTPTransport()
    pool = transport._pool
    transport._pool = httpcore.ConnectionPool(
        ssl_context=getattr(pool, "_ssl_context", None),
        network_backend=DeadlineBackend(),
    )
    return transport


def bounded_client(base_url: str = "", *, timeout: float) -> httpx.Client:
    """An ``httpx.Client`` whose requests obey ``deadline()``; ``timeout`` bounds each operation too."""
    return httpx.Client(base_url=base_url, timeout=timeout, transport=bounded_transport())


@dataclass(frozen=True)
class Fetched:
    """A whole answer read within bounds."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    http_version: str
    # Whether ``body`` was decoded from the Content-Encoding the headers still name.
    decoded: bool

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def fetch(
    client: httpx.Client,
    request: httpx.Request,
    *,
    timeout: float,
    max_body: int = DEFAULT_MAX_BODY,
    not_after: float | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Fetched:
    """Send ``request`` and read its answer within ``timeout`` seconds in all and ``max_body`` bytes.

    Raises ``DeadlineExceeded``, ``ResponseTooLarge``, ``Cancelled`` or another
    ``httpx.TransportError``.
    """
    with deadline(timeout, not_after=not_after, cancelled=cancelled):
        try:
            response = client.send(request, stream=True)
        except httpx.ReadError as exc:
            if cancelled is not None and cancelled():
                raise Cancelled("the run is stopping") from exc
            raise
        except httpx.TimeoutException as exc:
            raise _late(timeout, "connecting or waiting for the headers") from exc
        try:
            declared = _declared_length(response)
            if declared is not None and declared > max_body:
                raise ResponseTooLarge(
                    f"a body of {declared:,} bytes (Content-Length), over the {format_size(max_body)} cap",
                    limit=max_body,
                    declared=declared,
                )
            body = _read_capped(response, max_body, timeout)
        finally:
            response.close()
    encoding = response.headers.get("content-encoding", "").strip().lower()
    return Fetched(
        status=response.status_code,
        reason=response.reason_phrase,
        headers=tuple(response.headers.multi_items()),
        body=body,
        http_version=response.http_version,
        decoded=encoding not in ("", "identity"),
    )


def _late(timeout: float, where: str) -> DeadlineExceeded:
    """Any timeout means no whole answer in time: each operation's own bound is the request's."""
    return DeadlineExceeded(f"no whole answer within {timeout:g} s ({where})")


def _declared_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None:
        return None
    try:
        return int(value.split(",")[0].strip())
    except ValueError:
        return None


def _read_capped(response: httpx.Response, max_body: int, timeout: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes(_CHUNK):
            size += len(chunk)
            if size > max_body:
                raise ResponseTooLarge(
                    f"a body of more than {format_size(max_body)} (reading stopped at the cap)",
                    limit=max_body,
                    declared=None,
                )
            chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise _late(timeout, "while reading the body") from exc
    except httpx.ReadError as exc:
        cancelled = _cancelled.get()
        if cancelled is not None and cancelled():
            raise Cancelled("the run is stopping") from exc
        raise
    return b"".join(chunks)
