"""A throwaway ``redis-server`` on a free loopback port; mock replicas on it behind a round-robin balancer.

No fake Redis: the tests of the shared store run against the real server Debian packages
(``.ci/run`` installs it when missing). Without the binary the tests fail with a message
saying so, unless ``SIP_TRUNKS_SKIP_REDIS=1`` asks to skip them (never set in CI).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

SKIP_ENV = "SIP_TRUNKS_SKIP_REDIS"
START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def redis_binary() -> str:
    """The path of ``redis-server``; fails the test (or skips it when ``SIP_TRUNKS_SKIP_REDIS=1``)."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = (
            "redis-server is not installed: the shared-store tests need it "
            "(apt-get install redis-server; .ci/run installs it). "
            f"Set {SKIP_ENV}=1 to skip these tests locally."
        )
        if os.environ.get(SKIP_ENV) == "1" and not os.environ.get("CI"):
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    return binary


def command(port: int, *args: str | int, timeout: float = 5.0) -> bytes:
    """Send one command to the Redis on ``port`` (inline RESP) and return its raw reply."""
    line = " ".join(str(arg) for arg in args).encode() + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(line)
        return sock.recv(65536)


class RedisServer:
    """One ``redis-server`` process with no persistence, which a test may kill and start again."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                redis_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if command(self.port, "PING").startswith(b"+PONG"):
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {START_TIMEOUT} s")

    def flush(self) -> None:
        assert command(self.port, "FLUSHALL").startswith(b"+OK")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


def spawn_mock(url: str, *args: str, port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """``sip-trunks mock --store url`` in its own process; returns it and its base URL once it answers."""
    port = port or free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from sip_trunks_openapi.cli import main; main()",
            "mock",
            "--store",
            url,
            "--port",
            str(port),
            "--no-access-log",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _, err = process.communicate()
            raise RuntimeError(f"the mock exited with {process.returncode}: {err.decode()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/__admin/health", timeout=2).status_code == 200:
                return process, base_url
        time.sleep(0.1)
    stop_process(process)
    raise RuntimeError(f"the mock did not answer on {base_url} within {START_TIMEOUT} s")


def stop_process(
    process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, keep_output: bool = False
) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for stream in (process.stdout, process.stderr):
        if stream is not None and not keep_output:
            stream.close()


class Balancer:
    """A round-robin HTTP balancer on 127.0.0.1: each request goes to the next backend, per request."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self._next = itertools.cycle(backends)
        self.counts: dict[str, int] = dict.fromkeys(backends, 0)
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        backend = next(self._next)
        self.counts[backend] += 1
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=30)
        query = scope["query_string"].decode("latin-1")
        url = backend + scope["raw_path"].decode("latin-1") + (f"?{query}" if query else "")
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"host", b"content-length")]
        try:
            answer = await self._client.request(
                scope["method"], url, headers=headers, content=b"".join(chunks)
            )
        except httpx.HTTPError:
            await send({"type": "http.response.start", "status": 502, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        skip = {b"content-length", b"transfer-encoding", b"connection", b"date", b"server"}
        raw = [(k, v) for k, v in answer.headers.raw if k.lower() not in skip]
        raw.append((b"content-length", str(len(answer.content)).encode()))
        await send({"type": "http.response.start", "status": answer.status_code, "headers": raw})
        await send({"type": "http.response.body", "body": answer.content})


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve an ASGI app on a free loopback port in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", access_log=False, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the balancer did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
