"""Start a server under test as a loopback subprocess, time its start-up, read its RSS and always stop it."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sip_trunks_openapi import SPEC_PATH

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DEFAULT_OURS_CMD = f"{VENV_BIN / 'sip-trunks'} mock --port {{port}}"
PRISM_INSTALL_HINT = "npm i -g @stoplight/prism-cli"
TRUNK_BODY: dict[str, object] = {
    "name": "Bench trunk",
    "host": "sip.example.com",
    "port": 5060,
    "username": "bench",
    "password": "bench-secret",
}


@dataclass(frozen=True)
class ServerSpec:
    """How to start one server: a name for the table and a command with a `{port}` placeholder."""

    name: str
    command: tuple[str, ...]
    startup_timeout: float = 30.0


@dataclass
class RunningServer:
    """A started server: its process, its port and how long it took to answer its first request."""

    spec: ServerSpec
    process: subprocess.Popen[bytes]
    port: int
    startup_seconds: float


class ServerUnavailable(RuntimeError):
    """The server cannot run here; the message says why and how to fix it."""


def stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so the `running()` blocks stop their servers on the way out."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def free_port() -> int:
    """Ask the kernel for a free loopback port (the tiny race with another binder is acceptable here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def uvicorn_spec(name: str, app: str) -> ServerSpec:
    """A baseline app served by uvicorn, access log off, as the issue's figures were taken."""
    command = (sys.executable, "-m", "uvicorn", app, "--host", HOST, "--port", "{port}")
    return ServerSpec(name, (*command, "--no-access-log", "--log-level", "warning"))


def ours_spec(command_template: str) -> ServerSpec:
    """Our mock, started the way a user starts it."""
    return ServerSpec("ours", tuple(shlex.split(command_template)))


def ours_unavailable_reason(command_template: str) -> str | None:
    """Say why our mock cannot be benchmarked yet (its command has no working `--help`), or None."""
    argv = [part for part in shlex.split(command_template) if "{port}" not in part and part != "--port"]
    try:
        result = subprocess.run([*argv, "--help"], capture_output=True, timeout=30, cwd=REPO_ROOT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`{' '.join(argv)} --help` failed: {exc}"
    if result.returncode != 0:
        last = (result.stderr or result.stdout).decode(errors="replace").strip().splitlines()[-1:]
        return f"`{' '.join(argv)} --help` exited {result.returncode}: {' '.join(last)}"
    return None


@dataclass(frozen=True)
class RedisProcess:
    """A throwaway redis-server: where it listens and its pid (for its CPU time)."""

    port: int
    pid: int


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants so far, from /proc/<pid>/stat."""
    total = 0
    for each in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def throwaway_redis() -> Iterator[RedisProcess]:
    """A redis-server on a free loopback port with no persistence, stopped on the way out."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerUnavailable("redis-server: not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise ServerUnavailable(f"redis-server did not answer on port {port}")
            time.sleep(0.05)
        yield RedisProcess(port, process.pid)
    finally:
        stop(process)


def prism_spec() -> ServerSpec:
    """Prism's static mock with logging off; raises ServerUnavailable when no prism is installed."""
    prism = shutil.which("prism")
    if prism is None:
        raise ServerUnavailable(f"prism: not available ({PRISM_INSTALL_HINT})")
    command = (prism, "mock", str(SPEC_PATH), "--host", HOST, "--port", "{port}", "-v", "silent")
    return ServerSpec("prism", command, startup_timeout=60.0)


def request(port: int, method: str, path: str, token: str, body: object = None) -> tuple[int, bytes]:
    """One blocking HTTP request to the server under test (used for polling and set-up, not for load)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    headers = {"Authorization": f"Bearer {token}"}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _wait_until_ready(process: subprocess.Popen[bytes], port: int, started: float, timeout: float) -> float:
    """Poll GET /sip-trunks every 5 ms until a 200; return the seconds since `started`."""
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise ServerUnavailable(f"exited with code {process.returncode} before answering")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if request(port, "GET", "/sip-trunks", "bench-startup")[0] == 200:
                return time.perf_counter() - started
        time.sleep(0.005)
    raise ServerUnavailable(f"no 200 on GET /sip-trunks within {timeout:.0f} s")


@contextlib.contextmanager
def running(spec: ServerSpec) -> Iterator[RunningServer]:
    """Start `spec` on a free loopback port, wait for its first 200, and always stop it on the way out."""
    port = free_port()
    argv = [part.replace("{port}", str(port)) for part in spec.command]
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{spec.name}-", suffix=".log", delete=False)  # noqa: SIM115
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    try:
        try:
            startup = _wait_until_ready(process, port, started, spec.startup_timeout)
        except ServerUnavailable as exc:
            raise ServerUnavailable(f"{spec.name}: {exc}; log: {log_tail(Path(log.name))}") from None
        yield RunningServer(spec, process, port, startup)
    finally:
        stop(process)
        log.close()
        Path(log.name).unlink(missing_ok=True)


def log_tail(path: Path, lines: int = 3) -> str:
    """The last lines of a server's log, on one line, to explain a failure."""
    text = path.read_text(errors="replace").strip().splitlines()
    return " | ".join(text[-lines:]) or "(empty)"


def descendants(pid: int) -> list[int]:
    """The pids of a process's children, grandchildren and so on (launchers like npx fork the server)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for child in task.read_text().split():
                found += [int(child), *descendants(int(child))]
    return found


def rss_mib(pid: int) -> float:
    """VmRSS of a process and its descendants, in MiB, from /proc/<pid>/status."""
    total_kib = 0
    for each in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
    return total_kib / 1024


def stop(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM the server and the processes it started, by pid; SIGKILL what is left after `grace` seconds."""
    if process.poll() is not None:
        return
    family = [process.pid, *descendants(process.pid)]
    for pid in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=grace)
