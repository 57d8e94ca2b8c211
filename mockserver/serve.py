"""Run a mock in a background thread on a free loopback port, for tests and embedding."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from mockserver.config import MockConfig
from mockserver.http.connection_limits import FdBudget, fit_to_fd_limit

__all__ = ["PortUnavailable", "RunningMock", "bind_check", "running_mock", "serve", "settle_heap"]

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
