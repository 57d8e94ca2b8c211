"""uvicorn's HTTP/1.1 protocol with the limits it lacks, so no client can hold the mock by its connection.

uvicorn (with httptools) takes a request head of any size and any number of headers, and
its parser joins a long header's pieces by copying them again for every read (a 64 MiB header
blocked every client for seconds); it gives a client all the time it wants to send a head, and
never times out a connection that sends nothing. Here, per ``ConnectionLimits``:

- no more than ``max_header_bytes`` of a head (request line and headers) reach the parser;
  a head over that, or with over ``max_headers`` fields, is answered ``431`` and the
  connection closed, before anything reaches the app;
- a head has ``header_timeout`` seconds from the read that brought its first byte (then
  ``408``, connection closed); bytes that begin no request (blank lines) count as a head;
- a connection with nothing received since its last answer (or since it opened) is closed
  after ``idle_timeout`` seconds;
- at most ``max_connections`` are open: a new one closes the connection that has been idle,
  or sending a head or a body, for the longest (a request being answered is never cut);
  when every open connection has a request being answered, the new one gets ``503``.

These answers are written here, below the app, so they are built here rather than by
``mockserver.http.problems``: the same ``application/problem+json`` shape. A head that comes whole
in one read (nearly all do) costs no timer and no copy: the checks add no measurable time.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from mockserver.http.connection_limits import ConnectionLimits

__all__ = ["ConnectionRegistry", "LimitedHttpProtocol", "protocol_class"]

logger = logging.getLogger("mockserver.connections")

CAP_LOG_INTERVAL = 10.0
"""Seconds between two log lines saying the mock is at its connection cap."""


class _HeadRefused(Exception):
    """Raised in a parser callback to stop parsing a head that is over a limit."""


def problem_response(
    status: int, title: str, detail: str, default_headers: list[tuple[bytes, bytes]], *extra: bytes
) -> bytes:
    """A whole ``application/problem+json`` response that closes the connection, as bytes."""
    body = json.dumps({"type": "about:blank", "title": title, "detail": detail, "status": status}).encode()
    head = [STATUS_LINE[status]]
    for name, value in default_headers:
        head += [name, b": ", value, b"\r\n"]
    head += [
        b"content-type: application/problem+json\r\n",
        b"content-length: %d\r\n" % len(body),
        *extra,
        b"connection: close\r\n\r\n",
    ]
    return b"".join(head) + body


class ConnectionRegistry:
    """The open connections of one server, the one idle or receiving for the longest first."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._open: OrderedDict[LimitedHttpProtocol, None] = OrderedDict()
        self._cap_logged_at = -CAP_LOG_INTERVAL
        self.evicted = 0
        self.refused = 0

    def __len__(self) -> int:
        return len(self._open)

    def admit(self, connection: LimitedHttpProtocol) -> bool:
        """Register ``connection``; at the cap, first close the oldest one not being answered.

        False (``connection`` not registered) when every open connection is being answered.
        """
        if len(self._open) >= self.cap:
            victim = next((each for each in self._open if not each.answering), None)
            if victim is None:
                self.refused += 1
                self._log_cap("refusing new connections with 503")
                return False
            del self._open[victim]
            self.evicted += 1
            self._log_cap("closing the connection idle or receiving for the longest to admit each new one")
            victim.evict()
        self._open[connection] = None
        return True

    def touch(self, connection: LimitedHttpProtocol) -> None:
        """``connection`` starts a new phase (idle, or receiving a request): it goes last in line."""
        if connection in self._open:
            self._open.move_to_end(connection)

    def discard(self, connection: LimitedHttpProtocol) -> None:
        self._open.pop(connection, None)

    def _log_cap(self, what: str) -> None:
        now = time.monotonic()
        if now - self._cap_logged_at >= CAP_LOG_INTERVAL:
            self._cap_logged_at = now
            logger.warning(
                "at the cap of %d open connections (--max-connections): %s (so far %d closed, %d refused)",
                self.cap,
                what,
                self.evicted,
                self.refused,
            )


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, bounded by ``limits``; one subclass per server (``protocol_class``)."""

    limits: ClassVar[ConnectionLimits]
    registry: ClassVar[ConnectionRegistry]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # uvicorn's keep-alive timer is the idle timer: armed here too, before a first request.
        self.timeout_keep_alive = self.limits.idle_timeout  # type: ignore[assignment]
        self._head_bytes = 0  # bytes read since the last request was received whole (or so far)
        self._in_body = False  # between the end of a request's headers and the end of its body
        self._head_timer: Any = None  # armed only for a head that one read did not bring whole
        self._stopped = False  # a limit was hit: nothing more is read on this connection

    @property
    def answering(self) -> bool:
        """True while a request received whole is being answered (such a connection is never evicted)."""
        cycle = self.cycle
        return cycle is not None and not cycle.response_complete and not cycle.more_body

    # Connection life

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        if not self.registry.admit(self):
            self._stopped = True
            detail = f"The mock is answering {self.registry.cap} connections (--max-connections)"
            self._close_with(503, "Service Unavailable", detail, b"retry-after: 1\r\n")
            return
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self.registry.discard(self)
        self._cancel_head_timer()
        self._unset_keepalive_if_required()
        super().connection_lost(exc)

    def evict(self) -> None:
        """Close this connection to make room for a new one (the registry has let it go)."""
        logger.debug("%s: closed to admit a new connection (--max-connections)", self._peer())
        self._stopped = True
        self.transport.close()

    # Reading

    def data_received(self, data: bytes) -> None:
        if self._stopped:
            return
        if self._in_body:
            if not self._feed(data):
                return
        elif self._head_bytes + len(data) < self.limits.max_header_bytes:
            self._head_bytes += len(data)  # may count some body too: harmless, reset at its end
            if not self._feed(data):
                return
        elif not self._feed_up_to_the_limit(data):
            return
        if self._head_bytes and not self._in_body and self._head_timer is None:
            # A head under way that this read did not bring whole (most do): from now, which is
            # when its first byte came, it has header_timeout seconds; it no longer idles.
            self._unset_keepalive_if_required()
            self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_timed_out)
            self.registry.touch(self)

    def _feed_up_to_the_limit(self, data: bytes) -> bool:
        """Feed a head at most up to the limit (httptools copies a long header's pieces together
        on every read), then what follows it; over the limit, 431. False once the connection is done."""
        limit = self.limits.max_header_bytes
        rest: bytes | memoryview = data
        while rest:
            if self._in_body:
                chunk, rest = rest, b""
            else:
                budget = limit - self._head_bytes
                view = memoryview(rest)
                chunk, rest = view[:budget], view[budget:]
                self._head_bytes += len(chunk)
            if not self._feed(chunk):
                return False
            if not self._in_body and self._head_bytes >= limit:
                self._stopped = True
                self._refuse_head(f"The request line and headers are over {limit} bytes (--max-header-bytes)")
                return False
        return True

    def _feed(self, data: bytes | memoryview) -> bool:
        """uvicorn's parsing of ``data``; False once the connection is done with (refused, upgraded)."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return False
        except httptools.HttpParserError:
            if self._stopped:  # on_headers_complete refused the head
                count = self.limits.max_headers
                self._refuse_head(f"The request has more than {count} header fields (--max-headers)")
            else:
                msg = "Invalid HTTP request received."
                self.logger.warning(msg)
                self.send_400_response(msg)
            return False
        return True

    # Parser callbacks

    def on_headers_complete(self) -> None:
        # The fields are counted here, not one by one: the size limit already bounds the list.
        if len(self.headers) > self.limits.max_headers:
            self._stopped = True
            raise _HeadRefused
        if self._head_timer is not None:
            self._cancel_head_timer()
        self._unset_keepalive_if_required()
        self._in_body = True
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        self._head_bytes = 0
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._head_bytes or self._in_body:
            # The next request is already arriving: its own deadline runs, not the idle one.
            self._unset_keepalive_if_required()
        else:
            self.registry.touch(self)

    # Limits hit

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        logger.info(
            "%s: 408, no whole request head within %g s (--header-timeout)",
            self._peer(),
            self.limits.header_timeout,
        )
        self._stopped = True
        detail = f"The request's headers did not all arrive within {self.limits.header_timeout:g} s"
        self._close_with(408, "Request Timeout", detail)

    def _refuse_head(self, detail: str) -> None:
        logger.info("%s: 431, %s", self._peer(), detail)
        self._close_with(431, "Request Header Fields Too Large", detail)

    def _close_with(self, status: int, title: str, detail: str, *extra: bytes) -> None:
        """Answer ``status`` and close; if an earlier request is still being answered, close after it."""
        self._cancel_head_timer()
        self.flow.pause_reading()
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.keep_alive = False  # its answer is written whole, then the connection closes
            return
        default_headers = self.server_state.default_headers
        self.transport.write(problem_response(status, title, detail, default_headers, *extra))
        self.transport.close()

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "client"


def protocol_class(limits: ConnectionLimits) -> type[LimitedHttpProtocol]:
    """A protocol class for one server: ``limits``, and one registry of its open connections.

    >>> uvicorn.Config(app, http=protocol_class(ConnectionLimits()))  # doctest: +SKIP
    """
    namespace = {"limits": limits, "registry": ConnectionRegistry(limits.max_connections)}
    return type("MockHttpProtocol", (LimitedHttpProtocol,), namespace)
