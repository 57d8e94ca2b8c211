"""The proxy's answers leave in one write: head and first body bytes together, and nothing lost."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from uvicorn.protocols.http.flow_control import FlowControl

from contracts.proxy.protocol import _OneWriteCycle


class Transport:
    """Records writes and close, as a socket would see them."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


def _cycle(transport: Transport, *, method: str = "GET", keep_alive: bool = True) -> _OneWriteCycle:
    scope: Any = {"type": "http", "method": method, "path": "/", "http_version": "1.1", "headers": []}
    return _OneWriteCycle(
        scope=scope,
        transport=transport,  # type: ignore[arg-type]
        flow=FlowControl(transport),  # type: ignore[arg-type]
        logger=logging.getLogger("test"),
        access_logger=logging.getLogger("test.access"),
        access_log=False,
        default_headers=[],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=keep_alive,
        on_response=lambda: None,
    )


def _start(length: int | None) -> dict[str, Any]:
    headers = [(b"content-type", b"application/json")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {"type": "http.response.start", "status": 200, "headers": headers}


def _body(data: bytes, more: bool = False) -> dict[str, Any]:
    return {"type": "http.response.body", "body": data, "more_body": more}


def _send(cycle: _OneWriteCycle, *messages: dict[str, Any]) -> None:
    async def go() -> None:
        for message in messages:
            await cycle.send(message)

    asyncio.run(go())


def test_a_whole_answer_is_one_write() -> None:
    transport = Transport()
    _send(_cycle(transport), _start(2), _body(b"{}"))
    (write,) = transport.writes
    assert write.startswith(b"HTTP/1.1 200 OK\r\n") and write.endswith(b"content-length: 2\r\n\r\n{}")


def test_a_streamed_answer_sends_its_head_with_the_first_chunk_then_each_chunk() -> None:
    transport = Transport()
    _send(_cycle(transport), _start(6), _body(b"ab", more=True), _body(b"cd", more=True), _body(b"ef"))
    assert len(transport.writes) == 3
    assert transport.writes[0].endswith(b"\r\n\r\nab") and transport.writes[1:] == [b"cd", b"ef"]


@pytest.mark.parametrize("method", ["HEAD", "GET"])
def test_an_answer_with_no_body_bytes_still_sends_its_head(method: str) -> None:
    transport = Transport()
    start = {"type": "http.response.start", "status": 204 if method == "GET" else 200, "headers": []}
    _send(_cycle(transport, method=method), start, _body(b""))
    (write,) = transport.writes
    assert write.startswith(b"HTTP/1.1 20") and write.endswith(b"\r\n\r\n")


def test_an_answer_that_closes_the_connection_is_written_before_the_close() -> None:
    transport = Transport()
    _send(_cycle(transport, keep_alive=False), _start(2), _body(b"{}"))
    (write,) = transport.writes
    assert b"connection: close\r\n" in write and write.endswith(b"{}") and transport.closed


def test_a_chunked_answer_is_framed_as_uvicorn_frames_it() -> None:
    transport = Transport()
    _send(_cycle(transport), _start(None), _body(b"abc", more=True), _body(b""))
    assert b"".join(transport.writes).endswith(b"transfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    assert len(transport.writes) == 2
