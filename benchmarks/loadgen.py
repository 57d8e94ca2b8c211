"""Load one URL for a bounded time with wrk (a Lua script sets auth and POST bodies) or a Python fallback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

WRK_INSTALL_HINT = "apt-get install -y wrk (Debian/Ubuntu) or brew install wrk (macOS)"
POST_TOKENS = 1000
"""POSTs rotate over this many tokens (each token is its own organization), see README."""
_MARKER = "BENCH-JSON "


@dataclass(frozen=True)
class Scenario:
    """One kind of request: GET with a fixed token, or POST rotating the token per request."""

    name: str
    method: str
    path: str
    token: str = "bench-token"
    body: str | None = None


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_available() -> bool:
    """Whether the wrk binary is on PATH."""
    return shutil.which("wrk") is not None


def post_token(index: int) -> str:
    """The token of the `index`-th POST, the same formula as in the Lua script."""
    return f"bench-post-{index % POST_TOKENS}"


def lua_script(scenario: Scenario) -> str:
    """A wrk script: a static request for GETs, one token per request for POSTs, a JSON summary at the end."""
    if scenario.body is None:
        setup = (
            f'wrk.method = "{scenario.method}"\n'
            f'wrk.path = "{scenario.path}"\n'
            f'wrk.headers["Authorization"] = "Bearer {scenario.token}"\n'
        )
    else:
        setup = (
            f"local body = {json.dumps(scenario.body)}\n"
            "local counter = 0\n"
            "request = function()\n"
            "  counter = counter + 1\n"
            "  local headers = {}\n"
            f'  headers["Authorization"] = "Bearer bench-post-" .. (counter % {POST_TOKENS})\n'
            '  headers["Content-Type"] = "application/json"\n'
            f'  return wrk.format("{scenario.method}", "{scenario.path}", headers, body)\n'
            "end\n"
        )
    summary = (
        "done = function(summary, latency, requests)\n"
        "  local e = summary.errors\n"
        f'  io.write(string.format("{_MARKER}'
        '{\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d, '
        '\\"non_2xx\\": %d, \\"socket_errors\\": %d}\\n", '
        "summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), "
        "e.status, e.connect + e.read + e.write + e.timeout))\n"
        "end\n"
    )
    return setup + summary


def run_wrk(url: str, scenario: Scenario, seconds: float, connections: int) -> LoadResult:
    """Run `wrk -t1 -c<connections> -d<seconds>s` with the scenario's Lua script and parse its summary."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(scenario))
    try:
        argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", script.name, url]
        output = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    finally:
        Path(script.name).unlink(missing_ok=True)
    line = next(line for line in output.splitlines() if line.startswith(_MARKER))
    data = json.loads(line.removeprefix(_MARKER))
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        non_2xx=data["non_2xx"],
        socket_errors=data["socket_errors"],
    )


def _raw_request(scenario: Scenario, host: str, port: int, index: int) -> bytes:
    """The bytes of one keep-alive HTTP/1.1 request of the scenario."""
    token = scenario.token if scenario.body is None else post_token(index)
    lines = [
        f"{scenario.method} {scenario.path} HTTP/1.1",
        f"Host: {host}:{port}",
        f"Authorization: Bearer {token}",
    ]
    body = (scenario.body or "").encode()
    if scenario.body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response (Content-Length or chunked body) and return its status code."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
    status = int(head.split(" ", 2)[1])
    if "transfer-encoding: chunked" in head:
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    elif (start := head.find("content-length:")) >= 0:
        await reader.readexactly(int(head[start + 15 :].split("\r\n", 1)[0]))
    return status


@dataclass
class _Tally:
    """Latencies and error statuses shared by the connections of one Python load run."""

    latencies: list[float] = field(default_factory=list)
    non_2xx: int = 0

    def percentile_ms(self, quantile: float) -> float:
        """The latency below which `quantile` of the requests completed, in ms (the list is sorted first)."""
        if not self.latencies:
            return 0.0
        self.latencies.sort()
        return 1000 * self.latencies[min(len(self.latencies) - 1, int(quantile * len(self.latencies)))]


async def _one_connection(host: str, port: int, scenario: Scenario, deadline: float, tally: _Tally) -> None:
    """Send requests back to back on one connection until the deadline, recording latencies and statuses."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=5)
    try:
        while (now := time.perf_counter()) < deadline:
            writer.write(_raw_request(scenario, host, port, len(tally.latencies)))
            status = await asyncio.wait_for(_read_response(reader), timeout=10)
            tally.latencies.append(time.perf_counter() - now)
            tally.non_2xx += not 200 <= status < 400
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _python_load(
    host: str, port: int, scenario: Scenario, seconds: float, connections: int
) -> LoadResult:
    """Open `connections` keep-alive connections and drive them concurrently for `seconds`."""
    tally = _Tally()
    started = time.perf_counter()
    outcomes = await asyncio.gather(
        *(_one_connection(host, port, scenario, started + seconds, tally) for _ in range(connections)),
        return_exceptions=True,
    )
    elapsed = time.perf_counter() - started
    errors = sum(isinstance(outcome, BaseException) for outcome in outcomes)
    p50, p99 = tally.percentile_ms(0.5), tally.percentile_ms(0.99)
    return LoadResult(len(tally.latencies), elapsed, p50, p99, tally.non_2xx, errors)


def run_python(host: str, port: int, scenario: Scenario, seconds: float, connections: int) -> LoadResult:
    """The fallback generator: asyncio with raw keep-alive sockets (uvloop when installed), one process."""
    coroutine = _python_load(host, port, scenario, seconds, connections)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)
