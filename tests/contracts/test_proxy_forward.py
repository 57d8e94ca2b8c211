"""The proxy's HTTP/1.1 client on a scripted loopback server: framing, keep-alive, the request as sent."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from contracts.proxy.forward import Upstream, UpstreamError

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
HEAD = [(b"authorization", b"Bearer k"), (b"host", b"proxy:4011"), (b"connection", b"keep-alive")]


async def _serve(script: Script) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(script, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    return head, await reader.readexactly(length)


def run(coroutine: Awaitable[object]) -> object:
    return asyncio.run(asyncio.wait_for(coroutine, 10))  # type: ignore[arg-type]


def test_the_request_goes_as_sent_under_the_upstreams_prefix_with_its_host() -> None:
    seen: list[tuple[bytes, bytes]] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await _read_request(reader))
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nLocation: /x\r\n\r\n{}")
        await writer.drain()
        writer.close()

    async def go() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        server, url = await _serve(script)
        upstream = Upstream(url + "/v1/", timeout=5)
        async with upstream.send("POST", b"/sip-trunks/a%2Fb", b"x=1", HEAD, b'{"a": 1}') as answer:
            body = b"".join([chunk async for chunk in answer.chunks()])
        await upstream.aclose()
        server.close()
        return answer.status, answer.headers, body

    status, headers, body = run(go())  # type: ignore[misc]
    ((head, sent),) = seen
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/sip-trunks/a%2Fb?x=1 HTTP/1.1"
    assert lines[1].startswith(b"host: 127.0.0.1:")
    assert b"authorization: Bearer k" in lines and b"content-length: 8" in lines
    assert not any(line.startswith((b"connection", b"host: proxy")) for line in lines)
    assert sent == b'{"a": 1}'
    assert (status, body) == (201, b"{}")
    assert (b"Location", b"/x") in headers


def test_a_chunked_answer_after_100_continue_is_read_whole_and_the_connection_reused() -> None:
    connections: list[int] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        for _ in range(2):
            await _read_request(reader)
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
            )
            await writer.drain()

    async def go() -> list[bytes]:
        server, url = await _serve(script)
        upstream = Upstream(url, timeout=5)
        bodies = []
        for _ in range(2):
            async with upstream.send("GET", b"/sip-trunks", b"", HEAD, b"") as answer:
                bodies.append(b"".join([chunk async for chunk in answer.chunks()]))
        await upstream.aclose()
        server.close()
        return bodies

    assert run(go()) == [b"abcde", b"abcde"]
    assert len(connections) == 1


def test_an_idle_connection_the_upstream_closed_is_replaced_once() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        writer.close()  # keep-alive claimed, but the server closes: the pooled connection is stale

    async def go() -> list[int]:
        server, url = await _serve(script)
        upstream = Upstream(url, timeout=5)
        statuses = []
        for _ in range(3):
            async with upstream.send("DELETE", b"/sip-trunks/1", b"", HEAD, b"") as answer:
                [chunk async for chunk in answer.chunks()]
                statuses.append(answer.status)
            await asyncio.sleep(0.05)
        await upstream.aclose()
        server.close()
        return statuses

    assert run(go()) == [204, 204, 204]


def test_an_upstream_that_is_not_there_is_an_upstream_error() -> None:
    async def go() -> None:
        server, url = await _serve(lambda reader, writer: asyncio.sleep(0))
        server.close()
        await server.wait_closed()
        async with Upstream(url, timeout=5).send("GET", b"/", b"", HEAD, b""):
            pass

    with pytest.raises(UpstreamError):
        run(go())
