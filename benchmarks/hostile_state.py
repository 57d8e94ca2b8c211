"""`make hostile-state`: what hostile clients cost our mock, in memory and in stalls.

Two measurements, each against `sip-trunks mock` started as a loopback subprocess:

- `organizations`: one new API key per request (`GET /sip-trunks`), RSS after every step:
  what an organization costs, and whether `--max-organizations` keeps the total flat.
- `state-export`: fill the mock with trunks, then `GET /__admin/state` while a probe sends
  `GET /sip-trunks` every 20 ms on its own connection: how long the export takes, and the
  probe's worst latency meanwhile (a stalled event loop shows as a latency of seconds).
- `journal-export`: the same for `GET /__admin/requests`, the journal full of requests
  with 16 KiB bodies.

Printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import shlex
import statistics
import sys
import time
from collections.abc import Iterator, Sequence

from benchmarks.servers import (
    DEFAULT_OURS_CMD,
    HOST,
    TRUNK_BODY,
    ServerSpec,
    request,
    rss_mib,
    running,
    stop_on_sigterm,
)

CONNECTIONS = 8
PROBE_EVERY = 0.02  # seconds between two probe requests


def _request_bytes(method: str, path: str, token: str, body: bytes | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", f"Authorization: Bearer {token}"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response with a Content-Length; return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _send_all(port: int, requests: Iterator[bytes], connections: int = CONNECTIONS) -> dict[int, int]:
    """Send every request of the iterator over `connections` keep-alive sockets; count the statuses."""
    statuses: dict[int, int] = {}

    async def one() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            for raw in requests:  # shared: each connection takes the next request
                writer.write(raw)
                status = await _read_response(reader)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(one() for _ in range(connections)))
    return statuses


def _health(port: int) -> dict[str, int]:
    status, body = request(port, "GET", "/__admin/health", "unused")
    assert status == 200, status
    data: dict[str, int] = json.loads(body)
    return data


def _ours(command: str, extra: Sequence[str]) -> ServerSpec:
    return ServerSpec("ours", (*shlex.split(command), "--no-access-log", *extra))


def organizations(args: argparse.Namespace) -> None:
    """One new API key per request; RSS after every step."""
    extra = [] if args.max_organizations is None else ["--max-organizations", str(args.max_organizations)]
    with running(_ours(args.ours_cmd, extra)) as server:
        port, pid = server.port, server.process.pid
        start = rss_mib(pid)
        print(f"mock started ({' '.join(extra) or 'defaults'}): RSS {start:.1f} MiB")
        print(f"{'keys sent':>10} {'organizations':>14} {'RSS MiB':>8} {'+MiB':>7} {'s':>6}")
        sent, began = 0, time.perf_counter()
        while sent < args.count:
            step = min(args.step, args.count - sent)
            keys = (_request_bytes("GET", "/sip-trunks", f"hostile-{sent + i}") for i in range(step))
            statuses = asyncio.run(_send_all(port, keys))
            sent += step
            rss = rss_mib(pid)
            held = _health(port)["organizations"]
            print(
                f"{sent:>10,} {held:>14,} {rss:>8.1f} {rss - start:>7.1f} {time.perf_counter() - began:>6.1f}"
                + ("" if set(statuses) == {200} else f"  statuses {statuses}")
            )
        held = _health(port)["organizations"]
        growth = rss_mib(pid) - start
        print(f"per 10,000 organizations held: {growth / max(held, 1) * 10_000:.1f} MiB")


async def _probe(port: int, stop: asyncio.Event, samples: list[tuple[float, float]]) -> None:
    """GET /sip-trunks every PROBE_EVERY seconds on one connection: (sent at, latency) pairs."""
    reader, writer = await asyncio.open_connection(HOST, port)
    raw = _request_bytes("GET", "/sip-trunks", "probe")
    try:
        while not stop.is_set():
            began = time.perf_counter()
            writer.write(raw)
            status = await _read_response(reader)
            assert status == 200, status
            samples.append((began, time.perf_counter() - began))
            await asyncio.sleep(PROBE_EVERY)
    finally:
        writer.close()


def _export(port: int, path: str) -> tuple[float, int]:
    """GET `path` read to the end (chunked or not); its seconds and bytes."""
    connection = http.client.HTTPConnection(HOST, port, timeout=120)
    began = time.perf_counter()
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        size = 0
        while chunk := response.read(1 << 20):
            size += len(chunk)
        assert response.status == 200, response.status
        return time.perf_counter() - began, size
    finally:
        connection.close()


async def _export_while_probing(port: int, path: str) -> tuple[float, int, list[float], list[float]]:
    """The export's seconds and bytes, and the probe's latencies in the second before it and during it."""
    stop = asyncio.Event()
    samples: list[tuple[float, float]] = []
    probe = asyncio.create_task(_probe(port, stop, samples))
    await asyncio.sleep(1.0)
    began = time.perf_counter()
    seconds, size = await asyncio.to_thread(_export, port, path)
    ended = time.perf_counter()
    stop.set()
    await probe
    quiet = [latency for sent, latency in samples if sent < began]
    during = [latency for sent, latency in samples if began <= sent < ended]
    return seconds, size, quiet, during or [float("nan")]


def state_export(args: argparse.Namespace) -> None:
    """Fill the mock with trunks, then export its state while probing."""
    per_org = args.per_organization
    with running(_ours(args.ours_cmd, ["--max-trunks", str(per_org)])) as server:
        port, pid = server.port, server.process.pid
        body = json.dumps(TRUNK_BODY).encode()
        began = time.perf_counter()
        creates = (
            _request_bytes("POST", "/sip-trunks", f"org-{i // per_org}", body) for i in range(args.trunks)
        )
        statuses = asyncio.run(_send_all(port, creates))
        held = _health(port)
        print(
            f"filled: {held['trunks']:,} trunks in {held['organizations']:,} organizations "
            f"in {time.perf_counter() - began:.1f} s (statuses {statuses}); RSS {rss_mib(pid):.1f} MiB"
        )
        _exports(port, pid, "/__admin/state", args.repeat)


def _exports(port: int, pid: int, path: str, repeat: int) -> None:
    for attempt in range(1, repeat + 1):
        seconds, size, quiet, during = asyncio.run(_export_while_probing(port, path))
        print(
            f"export {attempt}: GET {path} {size / 2**20:.1f} MiB in {seconds:.2f} s; "
            f"probe GET /sip-trunks: quiet p50 {statistics.median(quiet) * 1000:.1f} ms, "
            f"during the export {len(during)} requests, p50 {statistics.median(during) * 1000:.1f} ms, "
            f"max {max(during) * 1000:.1f} ms; RSS after {rss_mib(pid):.1f} MiB"
        )


def journal_export(args: argparse.Namespace) -> None:
    """Fill the journal with requests of 16 KiB bodies (an injected 503 answers them); read it, probing."""
    extra = ["--journal-size", str(args.requests), "--fault", "POST /sip-trunks status=503"]
    with running(_ours(args.ours_cmd, extra)) as server:
        port, pid = server.port, server.process.pid
        body = json.dumps({**TRUNK_BODY, "pad": "x" * 16_000}).encode()
        began = time.perf_counter()
        posts = (_request_bytes("POST", "/sip-trunks", f"org-{i % 2}", body) for i in range(args.requests))
        statuses = asyncio.run(_send_all(port, posts))
        print(
            f"filled: {args.requests:,} requests of {len(body):,} bytes journaled in "
            f"{time.perf_counter() - began:.1f} s (statuses {statuses}); RSS {rss_mib(pid):.1f} MiB"
        )
        _exports(port, pid, "/__admin/requests", args.repeat)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; see --help."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hostile_state", description=__doc__)
    parser.add_argument(
        "--ours-cmd", default=DEFAULT_OURS_CMD, help="how to start our mock ({port} is filled in)"
    )
    sub = parser.add_subparsers(dest="measure", required=True)
    orgs = sub.add_parser("organizations", help="memory per organization, and under --max-organizations")
    orgs.add_argument("--count", type=int, default=200_000, help="new API keys to send (default 200000)")
    orgs.add_argument(
        "--step", type=int, default=10_000, help="keys between two RSS readings (default 10000)"
    )
    orgs.add_argument("--max-organizations", type=int, help="passed to the mock (default: the mock's own)")
    orgs.set_defaults(run=organizations)
    export = sub.add_parser("state-export", help="GET /__admin/state on a large state, with a probe")
    export.add_argument("--trunks", type=int, default=200_000, help="trunks to create (default 200000)")
    export.add_argument(
        "--per-organization", type=int, default=1000, help="trunks per organization (default 1000)"
    )
    export.add_argument("--repeat", type=int, default=3, help="exports to time (default 3)")
    export.set_defaults(run=state_export)
    journal = sub.add_parser("journal-export", help="GET /__admin/requests on a full journal, with a probe")
    journal.add_argument(
        "--requests", type=int, default=1000, help="journal size and requests (default 1000)"
    )
    journal.add_argument("--repeat", type=int, default=3, help="exports to time (default 3)")
    journal.set_defaults(run=journal_export)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one measurement and print it."""
    stop_on_sigterm()
    args = parse_args(argv)
    args.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
