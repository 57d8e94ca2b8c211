"""`make hostile`: hostile clients at the connection level against one mock, and a normal client's latency.

Issue 17's figures, measured: a 64 MiB header and 100,000 headers (what the mock answers,
how much of it the mock took, its RSS and peak RSS before and after), then 1,000 slowloris
connections (a header byte per second each) and 10,000 idle ones held open together (the
mock's open sockets, how many of the hostile connections it closed and when). All along, a
normal client in its own process opens a new connection and sends `GET /sip-trunks` every
0.1 s; its latencies are printed per phase, and the goal line says whether it was served
within 1 s throughout. Printed, never asserted. Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import multiprocessing
import os
import resource
import socket
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.servers import (
    DEFAULT_OURS_CMD,
    HOST,
    ServerUnavailable,
    ours_spec,
    rss_mib,
    running,
    stop_on_sigterm,
)

GOAL_SECONDS = 1.0
REQUEST_LINE = b"GET /sip-trunks HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer hostile\r\n"
PROBE_INTERVAL = 0.1


# The normal client, in its own process so the attackers' work does not delay it.


def probe(port: int, stop: Any, results: Any) -> None:
    """Every PROBE_INTERVAL s: a new connection, one GET; (start, seconds or None, status or error)."""
    samples = []
    while not stop.is_set():
        started = time.monotonic()
        connection = http.client.HTTPConnection(HOST, port, timeout=10)
        try:
            connection.request("GET", "/sip-trunks", headers={"Authorization": "Bearer normal-client"})
            response = connection.getresponse()
            response.read()
            samples.append((started, time.monotonic() - started, str(response.status)))
        except (OSError, http.client.HTTPException) as exc:
            samples.append((started, None, type(exc).__name__))
        finally:
            connection.close()
        stop.wait(max(0.0, PROBE_INTERVAL - (time.monotonic() - started)))
    results.put(samples)


@dataclass
class Phase:
    name: str
    start: float
    end: float = 0.0
    lines: list[str] = field(default_factory=list)


def latency_line(samples: list[tuple[float, float | None, str]], phase: Phase) -> tuple[str, float, int]:
    """The normal client's figures within ``phase``: a line, the worst latency, the failures."""
    inside = [s for s in samples if phase.start <= s[0] <= phase.end]
    times = sorted(s[1] for s in inside if s[1] is not None and s[2] == "200")
    failed = len(inside) - len(times)
    if not times:
        return f"normal client: {len(inside)} requests, none served", float("inf"), failed
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    worst = times[-1] if not failed else float("inf")
    line = (
        f"normal client: p50 {statistics.median(times) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"max {times[-1] * 1000:.1f} ms ({len(inside)} requests, {failed} not served"
        + (f": {sorted({s[2] for s in inside if s[2] != '200'})}" if failed else "")
        + ")"
    )
    return line, worst, failed


# The mock process, from /proc


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_sockets(pid: int) -> int:
    count = 0
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
    return count


# One huge head, over a blocking socket


def send_huge_head(port: int, prefix: bytes, filler: bytes, total: int, terminator: bytes) -> str:
    """Send the request line, ``prefix``, then ``total`` bytes of ``filler``; say what the mock did."""
    started = time.monotonic()
    sent = 0
    with socket.create_connection((HOST, port), timeout=30) as sock:
        try:
            sock.sendall(REQUEST_LINE + prefix)
            while sent < total:
                piece = filler[: total - sent]
                sock.sendall(piece)
                sent += len(piece)
            sock.sendall(terminator)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        with contextlib.suppress(OSError):
            while not answer.endswith(b"}") and len(answer) < 65536:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
    status = answer.split(b"\r\n", 1)[0].decode(errors="replace") or "no answer"
    took = "all" if sent >= total else f"{sent / 2**20:.1f} MiB"
    seconds = time.monotonic() - started
    return f"{status} in {seconds:.3f} s; the client sent {took} of {total / 2**20:.1f} MiB before the answer"


def huge_head_phase(name: str, pid: int, port: int, pieces: tuple[bytes, bytes, int, bytes]) -> Phase:
    phase = Phase(name, time.monotonic())
    rss, peak = rss_mib(pid), peak_rss_mib(pid)
    answer = send_huge_head(port, *pieces)
    time.sleep(0.5)  # the probe's next request sees the mock after it
    phase.end = time.monotonic()
    phase.lines.append(answer)
    phase.lines.append(
        f"RSS {rss:.0f} -> {rss_mib(pid):.0f} MiB, peak RSS {peak:.0f} -> {peak_rss_mib(pid):.0f} MiB"
    )
    return phase


# The flood: slowloris and idle connections, with asyncio


@dataclass
class Hostile:
    """One hostile connection: when it was opened, when the mock closed it, what it answered first."""

    slow: bool
    opened: float = 0.0
    closed: float | None = None
    answer: bytes = b""
    writer: asyncio.StreamWriter | None = None


async def connect(port: int, record: Hostile) -> asyncio.StreamReader | None:
    try:
        reader, record.writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout=10)
    except (OSError, TimeoutError):
        return None
    record.opened = time.monotonic()
    if record.slow:
        record.writer.write(REQUEST_LINE)
    return reader


async def watch(reader: asyncio.StreamReader, record: Hostile) -> None:
    """Wait for the mock to close the connection; keep the start of what it sent."""
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            record.answer += data[:12]
    record.closed = time.monotonic()


async def drip(records: list[Hostile]) -> None:
    """A header byte a second on every slowloris connection still open."""
    while True:
        await asyncio.sleep(1.0)
        for record in records:
            if record.writer is not None and record.closed is None:
                with contextlib.suppress(OSError, RuntimeError):
                    record.writer.write(b"X")


def closes(records: list[Hostile]) -> str:
    """How many of ``records`` the mock closed, with which answer, and after how long."""
    parts = []
    for answer in sorted({r.answer[:12] for r in records if r.closed is not None}):
        ages = sorted(
            r.closed - r.opened for r in records if r.closed is not None and r.answer[:12] == answer
        )
        what = f"after a {answer.decode(errors='replace')[9:12]}" if answer else "without an answer"
        median = statistics.median(ages)
        parts.append(f"{len(ages):,} {what} (median {median:.1f} s, max {ages[-1]:.1f} s after opening)")
    kept = sum(r.opened > 0 and r.closed is None for r in records)
    failed = sum(r.opened == 0 for r in records)
    return ", ".join([*parts, f"{kept:,} still open"] + ([f"{failed:,} could not connect"] if failed else []))


async def flood(pid: int, port: int, slowloris: int, idle: int, seconds: float) -> Phase:
    phase = Phase(f"{slowloris:,} slowloris + {idle:,} idle", time.monotonic())
    rss = rss_mib(pid)
    records = [Hostile(slow=True) for _ in range(slowloris)] + [Hostile(slow=False) for _ in range(idle)]
    watchers = []
    dripper = asyncio.create_task(drip(records[:slowloris]))
    peak_sockets = 0
    for start in range(0, len(records), 500):  # 500 connects at a time, as fast as they go
        batch = records[start : start + 500]
        for record, reader in zip(
            batch, await asyncio.gather(*(connect(port, r) for r in batch)), strict=True
        ):
            if reader is not None:
                watchers.append(asyncio.create_task(watch(reader, record)))
        peak_sockets = max(peak_sockets, open_sockets(pid))
    opened = sum(r.opened > 0 for r in records)
    phase.lines.append(
        f"{opened:,} connections opened in {time.monotonic() - phase.start:.1f} s, then held {seconds:g} s"
    )
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        peak_sockets = max(peak_sockets, open_sockets(pid))
        await asyncio.sleep(0.25)
    dripper.cancel()
    for task in watchers:
        task.cancel()
    for record in records:
        if record.writer is not None:
            record.writer.close()
    await asyncio.gather(dripper, *watchers, return_exceptions=True)
    phase.end = time.monotonic()
    phase.lines.append(
        f"the mock's open sockets: at most {peak_sockets:,} (sampled every 0.25 s, listener included)"
    )
    phase.lines.append(f"slowloris: {closes(records[:slowloris])}")
    phase.lines.append(f"idle: {closes(records[slowloris:])}")
    phase.lines.append(f"RSS {rss:.0f} -> {rss_mib(pid):.0f} MiB, peak RSS {peak_rss_mib(pid):.0f} MiB")
    return phase


def run_async(coroutine: Any) -> Any:
    """Run on uvloop when installed (it opens and watches 11,000 sockets faster), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def raise_fd_limit(needed: int) -> str:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed and (hard == resource.RLIM_INFINITY or soft < hard):
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return f"open-file limit of this script: {soft}" + ("" if soft >= needed else f" (fewer than {needed})")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hostile", description=__doc__)
    parser.add_argument("--slowloris", type=int, default=1000, help="slowloris connections (default 1000)")
    parser.add_argument("--idle", type=int, default=10000, help="idle connections (default 10000)")
    parser.add_argument("--hold", type=float, default=15.0, help="seconds the flood is held (default 15)")
    parser.add_argument("--header-mib", type=int, default=64, help="size of the huge header (default 64)")
    parser.add_argument("--headers", type=int, default=100_000, help="count of tiny headers (default 100000)")
    parser.add_argument(
        "--ours-cmd", default=DEFAULT_OURS_CMD, help=f"the mock (default: {DEFAULT_OURS_CMD})"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    print(raise_fd_limit(args.slowloris + args.idle + 256))
    try:
        with running(ours_spec(args.ours_cmd)) as server:
            pid, port = server.process.pid, server.port
            print(f"mock: {' '.join(server.spec.command).replace('{port}', str(port))} (pid {pid})")
            print(
                f"normal client: a new connection and GET /sip-trunks every {PROBE_INTERVAL} s, own process"
            )
            stop = multiprocessing.Event()
            results: Any = multiprocessing.Queue()
            prober = multiprocessing.Process(target=probe, args=(port, stop, results), daemon=True)
            prober.start()
            phases = [Phase("quiet", time.monotonic())]
            time.sleep(2)
            phases[0].end = time.monotonic()
            size = args.header_mib << 20
            big = (b"X-Big: ", b"a" * 65536, size, b"\r\n\r\n")
            phases.append(huge_head_phase(f"{args.header_mib} MiB header", pid, port, big))
            tiny = b"".join(b"X-%d: 1\r\n" % n for n in range(args.headers))
            phases.append(
                huge_head_phase(f"{args.headers:,} headers", pid, port, (b"", tiny, len(tiny), b"\r\n"))
            )
            phases.append(run_async(flood(pid, port, args.slowloris, args.idle, args.hold)))
            after = Phase("after", time.monotonic())
            time.sleep(2)
            after.end = time.monotonic()
            phases.append(after)
            stop.set()
            samples = results.get(timeout=30)
            prober.join(10)
    except ServerUnavailable as exc:
        print(f"hostile: {exc}", file=sys.stderr)
        return 2
    worst, failed_total = 0.0, 0
    for phase in phases:
        line, phase_worst, failed = latency_line(samples, phase)
        worst, failed_total = max(worst, phase_worst), failed_total + failed
        print(f"\n{phase.name} ({phase.end - phase.start:.1f} s)")
        for each in [*phase.lines, line]:
            print(f"  {each}")
    verdict = "met   " if worst < GOAL_SECONDS and not failed_total else "MISSED"
    shown = "a request not served" if failed_total else f"max {worst:.2f} s"
    goal = f"a normal client is served within {GOAL_SECONDS:g} s throughout"
    print(f"\n{verdict} {goal} ({shown}, {len(samples)} requests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
