"""Hostile clients on raw loopback sockets: huge heads, many headers, slowloris, idle and many connections.

Every loop is bounded in rounds and every socket has a timeout, so no test can hang; bounds
on time are generous (the machine is shared), the assertions are on what the mock answers.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from mockserver import MockConfig, running_mock
from mockserver.controls.faults import Latency

from .helpers import bearer

REQUEST_LINE = b"GET /sip-trunks HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer hostile\r\n"
SERVED_WITHIN = 2.0  # the goal is 1 s; twice that on a loaded machine still shows no stall


def port_of(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def read_until_closed(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    """Everything the mock sends until it closes the connection (the socket's timeout bounds the wait)."""
    answer = b""
    try:
        while len(answer) < limit:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except (ConnectionResetError, TimeoutError):
        pass
    return answer


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:100]
    return int(answer[9:12])


def problem_of(answer: bytes) -> dict[str, object]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head.lower()
    assert b"connection: close" in head.lower()
    problem: dict[str, object] = json.loads(body)
    return problem


def is_closed_by_peer(sock: socket.socket, wait: float) -> bool:
    """True when the mock closes ``sock`` within ``wait`` seconds (what it sent before is skipped)."""
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
    return False


def served_in(base_url: str) -> tuple[int, float]:
    """A normal client: a new connection, one GET; its status and how long it took."""
    started = time.monotonic()
    response = httpx.get(f"{base_url}/sip-trunks", headers=bearer("normal"), timeout=10)
    return response.status_code, time.monotonic() - started


@contextmanager
def mock(**limits: object) -> Iterator[int]:
    with running_mock(MockConfig(access_log=False, **limits)) as running:  # type: ignore[arg-type]
        yield port_of(running.base_url)


# Head size and header count: 431


def head_of(size: int) -> bytes:
    """A whole request head of exactly ``size`` bytes (one padding header)."""
    start = REQUEST_LINE + b"X-Pad: "
    return start + b"a" * (size - len(start) - 4) + b"\r\n\r\n"


def test_a_head_of_exactly_the_limit_is_served_and_one_byte_more_is_431() -> None:
    with mock(max_header_bytes=4096) as port:
        with connect(port) as sock:
            sock.sendall(head_of(4096))
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        with connect(port) as sock:
            sock.sendall(head_of(4097))
            answer = read_until_closed(sock)
    assert status_of(answer) == 431
    assert problem_of(answer) == {
        "type": "about:blank",
        "title": "Request Header Fields Too Large",
        "detail": "The request line and headers are over 4096 bytes (--max-header-bytes)",
        "status": 431,
    }


def test_a_64_mib_header_is_cut_off_after_the_limit_and_the_mock_keeps_serving() -> None:
    # The mock stops reading at 32 KiB and closes: the client cannot push 64 MiB into it
    # (it gets as far as the kernel's socket buffers, a few MiB), and reads a 431.
    total = 64 << 20
    chunk = b"a" * 65536
    sent = 0
    with mock() as port, connect(port, timeout=10) as sock:
        sock.sendall(REQUEST_LINE + b"X-Big: ")
        try:
            while sent < total:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_until_closed(sock)
        assert served_in(f"http://127.0.0.1:{port}")[0] == 200
    assert sent < 16 << 20, f"the mock read {sent} bytes of a 64 MiB header"
    assert status_of(answer) == 431


def test_100_000_tiny_headers_are_431() -> None:
    head = REQUEST_LINE + b"".join(b"X-%d: 1\r\n" % n for n in range(100_000)) + b"\r\n"
    with mock() as port, connect(port, timeout=10) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)  # cut off before the end: the answer is already there
        answer = read_until_closed(sock)
    assert status_of(answer) == 431


def test_more_header_fields_than_the_limit_is_431_however_small() -> None:
    # 101 fields of 8 bytes: far under the size limit, one over the count.
    def head(fields: int) -> bytes:
        # REQUEST_LINE already holds two fields (Host, Authorization).
        return REQUEST_LINE + b"".join(b"X-%d: 1\r\n" % n for n in range(fields - 2)) + b"\r\n"

    with mock(max_headers=100) as port:
        with connect(port) as sock:
            sock.sendall(head(100))
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        with connect(port) as sock:
            sock.sendall(head(101))
            answer = read_until_closed(sock)
    assert status_of(answer) == 431
    assert problem_of(answer)["detail"] == "The request has more than 100 header fields (--max-headers)"


def test_a_big_body_after_a_small_head_is_not_counted_as_head() -> None:
    # Head and a 60 KB body in one write: only the head counts against the 4 KiB limit.
    body = json.dumps({"name": "x" * 60_000}).encode()
    request = (
        b"POST /sip-trunks HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer big-body\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    ) + body
    with mock(max_header_bytes=4096) as port, connect(port) as sock:
        sock.sendall(request)
        answer = sock.recv(65536)
    assert status_of(answer) == 400  # the spec's length limit on name, not a 431


# Slowloris and idle connections: deadlines


def test_a_slowloris_head_gets_408_and_is_closed_after_the_header_timeout() -> None:
    with mock(header_timeout=1.0) as port, connect(port) as sock:
        started = time.monotonic()
        sock.sendall(REQUEST_LINE)
        sock.settimeout(0.2)
        answer = b""
        for _ in range(100):  # a header byte every 0.2 s, for 20 s at most
            try:
                sock.sendall(b"X")
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        elapsed = time.monotonic() - started
    assert status_of(answer) == 408
    assert problem_of(answer)["title"] == "Request Timeout"
    assert 0.9 < elapsed < 10


def test_a_head_sent_in_pieces_within_the_deadline_is_served() -> None:
    with mock(header_timeout=2.0) as port, connect(port) as sock:
        pieces = (b"GET /sip-trunks HTTP/1.1\r\n", b"Host: mock\r\n", b"Authorization: Bearer slow\r\n\r\n")
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(0.2)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")


def test_a_connection_that_never_sends_is_closed_after_the_idle_timeout() -> None:
    with mock(idle_timeout=0.5) as port, connect(port) as sock:
        started = time.monotonic()
        assert is_closed_by_peer(sock, wait=10)
        assert time.monotonic() - started > 0.4


def test_a_keep_alive_connection_is_closed_after_the_idle_timeout() -> None:
    with mock(idle_timeout=0.5) as port, connect(port) as sock:
        sock.sendall(REQUEST_LINE + b"\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        assert is_closed_by_peer(sock, wait=10)


def test_bytes_that_begin_no_request_do_not_keep_a_connection_open() -> None:
    # Blank lines before a request are skipped by the parser; they start a head all the same,
    # which has header_timeout seconds to end.
    with mock(idle_timeout=0.5, header_timeout=0.5) as port, connect(port) as sock:
        sock.settimeout(0.1)
        closed = False
        for _ in range(50):  # 5 s at most
            try:
                sock.sendall(b"\r\n")
                if not sock.recv(1):
                    closed = True
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
    assert closed


# Many connections: the cap


def open_idle(port: int, count: int, stack: ExitStack) -> list[socket.socket]:
    return [stack.enter_context(connect(port)) for _ in range(count)]


def open_slowloris(port: int, count: int, stack: ExitStack) -> list[socket.socket]:
    socks = open_idle(port, count, stack)
    for sock in socks:
        sock.sendall(REQUEST_LINE)
    return socks


def count_closed(socks: list[socket.socket]) -> int:
    return sum(is_closed_by_peer(sock, wait=0.01) for sock in socks)


def test_a_normal_client_is_served_while_hundreds_of_idle_and_slowloris_connections_are_open() -> None:
    # 300 idle and 100 slowloris connections against a cap of 50: each new one closes the one
    # idle or sending for the longest, so the normal client still gets in, and served at once.
    with mock(max_connections=50) as port, ExitStack() as stack:
        slow = open_slowloris(port, 100, stack)
        idle = open_idle(port, 300, stack)
        status, seconds = served_in(f"http://127.0.0.1:{port}")
        assert status == 200
        assert seconds < SERVED_WITHIN
        time.sleep(0.2)  # let the last closes arrive
        closed_slow = count_closed(slow)
        closed = closed_slow + count_closed(idle)
    assert closed >= 400 - 50, f"only {closed} of 400 connections were closed at a cap of 50"
    assert closed_slow == 100, "the oldest go first: every slowloris connection (opened first)"


def test_at_the_cap_a_connection_just_answered_is_kept_and_the_longest_idle_closed() -> None:
    with mock(max_connections=3) as port, ExitStack() as stack:
        kept, oldest_idle, idle = open_idle(port, 3, stack)
        kept.sendall(REQUEST_LINE + b"\r\n")
        assert kept.recv(65536).startswith(b"HTTP/1.1 200 ")  # idle since now: last in line
        stack.enter_context(connect(port))  # a fourth: one must go
        assert is_closed_by_peer(oldest_idle, wait=5)
        assert not is_closed_by_peer(idle, wait=0.2)
        kept.sendall(REQUEST_LINE + b"\r\n")
        assert kept.recv(65536).startswith(b"HTTP/1.1 200 ")


def test_connections_being_answered_are_never_closed_and_beyond_them_the_answer_is_503() -> None:
    # Two requests held 1.5 s by latency fill a cap of 2: a third connection is refused with
    # 503 (it cannot close either), and both held requests are answered whole.
    config = MockConfig(access_log=False, max_connections=2, latency=Latency(1500, 1500))
    with running_mock(config) as running:
        answers: list[int] = []

        def held() -> None:
            answers.append(served_in(running.base_url)[0])

        threads = [threading.Thread(target=held) for _ in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        with connect(port_of(running.base_url)) as sock:
            refused = read_until_closed(sock)
        for thread in threads:
            thread.join(10)
    assert answers == [200, 200]
    assert status_of(refused) == 503
    assert b"retry-after: 1" in refused.lower()
    assert problem_of(refused)["title"] == "Service Unavailable"


# The command: a separate process, where the mock's own memory can be read


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_the_command_does_not_grow_by_a_64_mib_header(tmp_path: Path) -> None:
    # Before the limits, the mock's peak RSS grew by ~192 MiB for one 64 MiB header.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    executable = str(Path(sys.executable).with_name("sip-trunks"))
    command = [executable, "mock", "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if served_in(f"http://127.0.0.1:{port}")[0] == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "the mock did not start"
            time.sleep(0.05)
        before = peak_rss_kib(process.pid)
        chunk = b"a" * 65536
        with connect(port, timeout=10) as sock:
            sock.sendall(REQUEST_LINE + b"X-Big: ")
            try:
                for _ in range(1024):  # 64 MiB
                    sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            assert status_of(read_until_closed(sock)) == 431
        grown_mib = (peak_rss_kib(process.pid) - before) / 1024
    finally:
        process.terminate()
        process.wait(10)
    assert grown_mib < 32, f"the mock's peak RSS grew by {grown_mib:.0f} MiB"
