"""One multiplexed Redis connection per process: every coroutine's commands share it, answered in order.

Why not redis-py's asyncio client: it takes a pooled connection per command and costs ~280 µs
of client time per ``EVALSHA`` here, against ~45 µs for this (20,000 scripts from 50
coroutines, hiredis parsing both; see docs/redis.md). Commands are written as they come and
their futures wait in a FIFO; hiredis parses the replies. A command not answered within
``command_timeout``, a refused connection or a lost one fails every command waiting with
``StoreUnavailable``; the next command connects again, so the mock recovers by itself.
"""

from __future__ import annotations

import asyncio
import collections
import os
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import hiredis

from mockserver.config import mask_url
from mockserver.domain.errors import StoreUnavailable

__all__ = ["RedisConnection", "RedisError", "RedisTarget", "parse_redis_url"]

CONNECT_TIMEOUT = 2.0
COMMAND_TIMEOUT = 3.0
RETRY_AFTER = 1  # seconds a client is told to wait when Redis cannot be reached


class RedisError(Exception):
    """Redis answered a command with an error reply (a script's refusal, NOSCRIPT, WRONGTYPE...)."""

    @property
    def code(self) -> str:
        """The reply's first word: ``NOSCRIPT``, ``WRONGTYPE``, or a script's own code like ``NO_TRUNK``."""
        text = str(self)
        return text.split(" ", 1)[0] if text else ""


@dataclass(frozen=True)
class RedisTarget:
    """Where a Redis URL points: TCP host and port or a Unix socket, the database, the credentials."""

    url: str
    host: str = "localhost"
    port: int = 6379
    path: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @property
    def label(self) -> str:
        """The URL with its password masked: safe in messages and logs."""
        return mask_url(self.url)


def parse_redis_url(url: str) -> RedisTarget:
    """``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` (TLS) or ``unix:///path?db=N``."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    username = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password is not None else None
    if password is None and username is not None:
        username, password = None, username  # redis://secret@host: a password alone
    if "password" in query:
        password = query["password"][0]
    db_text = query.get("db", [""])[0] or (parts.path.lstrip("/") if parts.scheme != "unix" else "")
    try:
        db = int(db_text or 0)
        port = parts.port or 6379
    except ValueError:
        raise ValueError(f"{mask_url(url)}: the port and the database must be numbers") from None
    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError(f"{mask_url(url)}: a unix:// URL needs the socket's path")
        return RedisTarget(url, path=parts.path, db=db, username=username, password=password)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"{mask_url(url)}: not a redis://, rediss:// or unix:// URL")
    return RedisTarget(
        url,
        host=parts.hostname or "localhost",
        port=port,
        db=db,
        username=username,
        password=password,
        tls=parts.scheme == "rediss",
    )


class _Protocol(asyncio.Protocol):
    def __init__(self, label: str) -> None:
        self.label = label
        self.reader = hiredis.Reader(encoding="utf-8", replyError=RedisError)
        self.pending: collections.deque[tuple[asyncio.Future[Any], float]] = collections.deque()
        self.transport: Any = None  # asyncio's or uvloop's transport (not an asyncio.Transport subclass)
        self.closed = False
        self.outgoing: list[bytes] = []  # commands of this loop iteration, written in one go

    def send(self, command: bytes) -> None:
        """Queue a packed command; the commands of one loop iteration go out in one write."""
        if not self.outgoing:
            asyncio.get_running_loop().call_soon(self.write_out)
        self.outgoing.append(command)

    def write_out(self) -> None:
        outgoing, self.outgoing = self.outgoing, []
        if not self.closed and outgoing:
            self.transport.write(b"".join(outgoing))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        pending = self.pending
        while True:
            try:
                reply = reader.gets()
            except hiredis.ProtocolError as exc:
                self.fail(f"unreadable reply ({exc})")
                return
            if reply is False:
                return
            future = pending.popleft()[0]
            if not future.done():
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(f"connection lost ({exc})" if exc else "connection closed by the server")

    def fail(self, reason: str) -> None:
        """Fail every waiting command and close: the replies left cannot be matched any more."""
        self.closed = True
        error = StoreUnavailable(f"Redis at {self.label}: {reason}", RETRY_AFTER)
        while self.pending:
            future = self.pending.popleft()[0]
            if not future.done():
                future.set_exception(error)
        if self.transport is not None:
            self.transport.close()


class RedisConnection:
    """Commands to one Redis, from any number of coroutines, over one connection per process and loop."""

    def __init__(
        self, url: str, *, connect_timeout: float = CONNECT_TIMEOUT, command_timeout: float = COMMAND_TIMEOUT
    ) -> None:
        self.target = parse_redis_url(url)
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self._protocol: _Protocol | None = None
        self._owner: tuple[int, asyncio.AbstractEventLoop] | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None
        self._watchdog: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        state = "connected" if self._usable() else "not connected"
        return f"<RedisConnection {self.target.label} {state}>"

    @property
    def label(self) -> str:
        """The URL with its password masked."""
        return self.target.label

    def _usable(self) -> bool:
        protocol = self._protocol
        if protocol is None or protocol.closed:
            return False
        # A forked worker or another event loop cannot use this socket: connect again there.
        return self._owner == (os.getpid(), asyncio.get_running_loop())

    async def execute(self, *args: Any) -> Any:
        """Send one command and wait for its reply; ``RedisError`` for an error reply."""
        protocol = self._protocol
        if protocol is None or not self._usable():
            protocol = await self._connect()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        protocol.pending.append((future, time.monotonic()))
        protocol.send(hiredis.pack_command(args))
        reply = await future
        if isinstance(reply, RedisError):
            raise reply
        return reply

    async def _connect(self) -> _Protocol:
        if self._connecting is not None and self._owner == (os.getpid(), asyncio.get_running_loop()):
            return await asyncio.shield(self._connecting)
        loop = asyncio.get_running_loop()
        self._abandon()
        self._owner = (os.getpid(), loop)
        self._connecting = loop.create_future()
        try:
            protocol = await asyncio.wait_for(self._open(loop), self.connect_timeout)
        except (TimeoutError, OSError, RedisError, StoreUnavailable) as exc:
            error = StoreUnavailable(f"Redis at {self.label} cannot be reached: {_reason(exc)}", RETRY_AFTER)
            self._connecting.set_exception(error)
            self._connecting.exception()  # retrieved: waiters re-raise it
            self._connecting = None
            raise error from None
        self._protocol = protocol
        self._connecting.set_result(protocol)
        self._connecting = None
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = loop.create_task(self._watch(), name="redis-watchdog")
        return protocol

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Protocol:
        target = self.target
        label = target.label
        if target.path is not None:
            _, protocol = await loop.create_unix_connection(lambda: _Protocol(label), target.path)
        else:
            context = ssl.create_default_context() if target.tls else None
            _, protocol = await loop.create_connection(
                lambda: _Protocol(label), target.host, target.port, ssl=context
            )
        if target.password is not None:
            credentials = [target.username, target.password] if target.username else [target.password]
            await self._send(protocol, "AUTH", *credentials)
        if target.db:
            await self._send(protocol, "SELECT", target.db)
        return protocol

    async def _send(self, protocol: _Protocol, *args: Any) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        protocol.pending.append((future, time.monotonic()))
        protocol.transport.write(hiredis.pack_command(args))
        reply = await future
        if isinstance(reply, RedisError):
            raise reply
        return reply

    async def _watch(self) -> None:
        # One timer for every command: the oldest unanswered one decides (wait_for per command
        # would cost a timer each).
        period = max(self.command_timeout / 4, 0.05)
        while True:
            await asyncio.sleep(period)
            protocol = self._protocol
            if protocol is None or protocol.closed:
                return
            if protocol.pending and time.monotonic() - protocol.pending[0][1] > self.command_timeout:
                protocol.fail(f"no answer within {self.command_timeout:g} s")
                return

    def _abandon(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None and not protocol.closed:
            protocol.closed = True
            if protocol.transport is not None and self._owner == (os.getpid(), _running_loop()):
                protocol.transport.close()
        if self._watchdog is not None and self._owner == (os.getpid(), _running_loop()):
            self._watchdog.cancel()
        self._watchdog = None

    async def aclose(self) -> None:
        """Close the connection (the next command opens another)."""
        self._abandon()
        self._owner = None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "no answer in time"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return str(exc)
