"""Run a mock in a background thread on a free loopback port, for tests and embedding."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from mockserver.config import MockConfig
from mockserver.http.connection_limits import FdBudget, fit_to_fd_limit

__all__ = [
    "PortUnavailable",
    "RunningMock",
    "bind_check",
    "check_store",
    "running_mock",
    "serve",
    "serve_workers",
    "settle_heap",
]

logger = logging.getLogger("mockserver.connections")

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
HEAP_SETTLE_DELAY = 0.25
"""Seconds from listening to ``settle_heap()``: after a readiness poll's answer, inside a warm-up."""


@dataclass(frozen=True)
class RunningMock:
    """A mock being served: where to reach it, and the app behind it."""

    base_url: str
    app: Any
    config: MockConfig


class PortUnavailable(OSError):
    """The configured host and port cannot be bound."""


def _bind(host: str, port: int) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        bound: int = sock.getsockname()[1]
        return bound


def bind_check(config: MockConfig) -> MockConfig:
    """``config`` with a concrete port (a free one for port 0), or ``PortUnavailable``."""
    try:
        return config.replace(port=_bind(config.host, config.port))
    except OSError as exc:
        raise PortUnavailable(
            f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"
        ) from None


def check_store(app: Any) -> None:
    """Reach the app's shared store once and initialize it, or join it (nothing to do for memory).

    Raises ``StoreUnavailable`` (Redis cannot be reached) or ``SettingsMismatch`` (Redis holds
    the state of a mock started with other settings), each with a one-line message.
    """
    start = getattr(getattr(app, "state_store", None), "start", None)
    if start is not None:
        asyncio.run(start())


def settle_heap() -> None:
    """Collect once, move every survivor out of the collector's reach, and turn it back on.

    Everything alive by now (the app, compiled validators, the spec) lives as long as the
    process: frozen, it is never traversed again, which keeps full collections, and the p99
    spikes they cause while the store grows, short.
    """
    gc.collect()
    gc.freeze()
    gc.enable()


class _SettlingServer(uvicorn.Server):
    """A uvicorn server that settles the heap shortly after it starts listening.

    The CLI turns the cyclic collector off for start-up, which builds ~100k long-lived
    objects: collecting while they are built, and once more before serving, cost ~70 ms of
    a ~0.4 s start-up. The one collection left happens here, off the path to the first answer.
    ``on_shutdown`` runs once the last request is answered: after a SIGTERM uvicorn re-raises
    the signal as it returns, which kills the process before any code after ``run()``.
    """

    on_shutdown: Callable[[], None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        asyncio.get_running_loop().call_later(HEAP_SETTLE_DELAY, settle_heap)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets=sockets)
        if self.on_shutdown is not None:
            self.on_shutdown()


def _uvicorn_config(config: MockConfig, app: Any, max_connections: int, **options: Any) -> uvicorn.Config:
    """The one uvicorn configuration of every mock: our HTTP protocol with its connection limits.

    Our access log replaces uvicorn's; log_config=None leaves logging to the caller. No
    WebSocket protocol: the mock has no WebSocket route, and an upgraded connection would
    escape the limits.
    """
    from mockserver.http.protocol import protocol_class

    limits = config.replace(max_connections=max_connections).connection_limits
    return uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        lifespan="on",
        access_log=False,
        log_config=None,
        http=protocol_class(limits),
        ws="none",
        **options,
    )


def _server(config: MockConfig, app: Any, max_connections: int | None = None) -> _SettlingServer:
    cap = config.max_connections if max_connections is None else max_connections
    return _SettlingServer(_uvicorn_config(config, app, cap, log_level=config.log_level))


def _say_fd_budget(budget: FdBudget, lowered_level: int = logging.WARNING) -> None:
    if budget.raised_from is not None:
        logger.info(
            "raised the open-file limit from %d to %d for --max-connections %d",
            budget.raised_from,
            budget.soft_limit,
            budget.wanted,
        )
    if budget.lowered:
        logger.log(
            lowered_level,
            "the open-file limit (%d, ulimit -n) allows %d connections, not --max-connections %d: "
            "serving at most %d",
            budget.soft_limit,
            budget.max_connections,
            budget.wanted,
            budget.max_connections,
        )


def serve(config: MockConfig, app: Any, on_shutdown: Callable[[], None] | None = None) -> None:
    """Serve ``app`` on ``config.host:config.port`` until interrupted; the heap is settled once up.

    ``on_shutdown`` (e.g. writing the last access lines) runs after the last answer, also
    when a SIGTERM ends the server. The open-file soft limit is raised, as far as the hard
    limit lets it, to hold ``config.max_connections`` connections; below that, the cap is lowered.
    """
    budget = fit_to_fd_limit(config.max_connections, raise_soft_limit=True)
    _say_fd_budget(budget)
    server = _server(config, app, budget.max_connections)
    server.on_shutdown = on_shutdown
    server.run()


WORKER_MIN_LIFE = 2.0
"""Seconds a worker must have served before one that dies is replaced (else the others stop too)."""


def _listening_socket(config: MockConfig) -> socket.socket:
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as exc:
        sock.close()
        raise PortUnavailable(
            f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve_workers(config: MockConfig, build: Callable[[], tuple[Any, Callable[[], None] | None]]) -> None:
    """Serve with ``config.workers`` processes accepting on one socket, until SIGINT or SIGTERM.

    Each worker is forked, then builds its own app with ``build()`` (its own access-log
    thread and Redis connection). A worker that dies is replaced, unless it died within
    ``WORKER_MIN_LIFE`` seconds of its start: then every worker is stopped and this raises
    ``RuntimeError``.
    """
    budget = fit_to_fd_limit(config.max_connections, raise_soft_limit=True)  # inherited by the workers
    _say_fd_budget(budget)
    sock = _listening_socket(config)
    workers: dict[int, float] = {}
    stopping = False

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                app, on_shutdown = build()
                server = _server(config, app, budget.max_connections)
                server.on_shutdown = on_shutdown
                server.run(sockets=[sock])
            except BaseException:
                logger.exception("worker %d failed", os.getpid())
                code = 1
            finally:
                os._exit(code)
        workers[pid] = time.monotonic()

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    failed = None
    try:
        for _ in range(config.workers):
            spawn()
        while workers:
            pid, status = os.wait()
            started = workers.pop(pid, None)
            if started is None or stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            if time.monotonic() - started < WORKER_MIN_LIFE:
                failed = f"worker {pid} exited with {code} within {WORKER_MIN_LIFE:g} s of its start"
                stop(signal.SIGTERM, None)
                continue
            logger.warning("worker %d exited with %d; starting another", pid, code)
            spawn()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
    if failed is not None:
        raise RuntimeError(failed)


@contextlib.contextmanager
def running_mock(config: MockConfig | None = None, *, app: Any = None) -> Iterator[RunningMock]:
    """Serve ``app`` (default: ``create_app(config)``) on 127.0.0.1 until the block ends.

    >>> with running_mock() as mock:  # doctest: +SKIP
    ...     httpx.get(f"{mock.base_url}/sip-trunks", headers={"Authorization": "Bearer k"})
    """
    config = (config or MockConfig()).replace(host="127.0.0.1")
    config = bind_check(config.replace(port=0))
    if app is None:
        from mockserver.http.app import create_app

        app = create_app(config)
    check_store(app)
    # The embedding process's open-file limit is its own: the cap is fitted to it, never raised.
    budget = fit_to_fd_limit(config.max_connections, raise_soft_limit=False)
    _say_fd_budget(budget, lowered_level=logging.DEBUG)
    server = uvicorn.Server(_uvicorn_config(config, app, budget.max_connections))
    thread = threading.Thread(target=server.run, name=f"mock-{config.port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(STOP_TIMEOUT)
            raise RuntimeError(f"the mock did not start on {config.base_url} within {START_TIMEOUT} s")
        time.sleep(0.01)
    try:
        yield RunningMock(base_url=config.base_url, app=app, config=config)
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT)
