"""Run the proxy: bind, serve until Ctrl-C or SIGTERM (or the block ends), then write the reports."""

from __future__ import annotations

import gc
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from contracts.proxy.app import ProxyApp
from contracts.proxy.config import ProxyConfig
from contracts.proxy.protocol import OneWriteProtocol
from contracts.proxy.report import render_json, render_junit, write

__all__ = ["RunningProxy", "bind", "running_proxy", "serve", "write_reports"]

START_TIMEOUT = 10.0


@dataclass(frozen=True)
class RunningProxy:
    """A proxy serving on a loopback port, for tests and embedding."""

    base_url: str
    app: ProxyApp


def bind(config: ProxyConfig) -> tuple[socket.socket, ProxyConfig]:
    """A listening socket for ``config`` and the config with the port it got (for ``--port 0``)."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock, config.replace(port=sock.getsockname()[1])


class _Server(uvicorn.Server):
    """A uvicorn server that writes the proxy's reports once the last request is answered.

    After a SIGTERM (or Ctrl-C) uvicorn re-raises the signal as ``run()`` returns, which ends
    the process before any code after it: the reports are written from ``shutdown`` instead.
    """

    def __init__(self, app: ProxyApp, *, settle: bool = False) -> None:
        config = uvicorn.Config(
            app,
            lifespan="on",
            http=OneWriteProtocol,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
            proxy_headers=False,  # X-Forwarded-* are forwarded as they came, not read
            # The answer goes back as the upstream sent it: no second Date or Server of uvicorn's.
            server_header=False,
            date_header=False,
        )
        super().__init__(config)
        self.proxy = app
        self._settle = settle
        self._started_at = time.monotonic()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self._settle:
            # The spec and schemathesis live as long as the process: frozen, full collections never
            # traverse them again (as the mock does), which keeps the p99 spikes they cause short.
            # Not in an embedding process (tests): its heap is not ours to freeze.
            gc.collect()
            gc.freeze()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets=sockets)
        write_reports(self.proxy, time.monotonic() - self._started_at)


def serve(config: ProxyConfig, sock: socket.socket, say: Callable[[str], None] | None = None) -> ProxyApp:
    """Serve on ``sock`` until Ctrl-C or SIGTERM, then write the reports; the signal ends the process."""
    app = ProxyApp(config, **({"say": say} if say else {}))
    _Server(app, settle=True).run(sockets=[sock])
    return app


def write_reports(app: ProxyApp, elapsed: float) -> None:
    """``--report`` and ``--junit-xml``, as the proxy stops."""
    config, inspector = app.config, app.inspector
    if config.report is not None:
        summary: dict[str, Any] = {
            "upstream": config.upstream,
            "enforce": config.enforce,
            "exchanges": inspector.exchanges,
            "elapsed": round(elapsed, 3),
            **inspector.log.document(),
        }
        write(config.report, render_json(summary))
    if config.junit_xml is not None:
        junit = render_junit(inspector.log.items(), elapsed=elapsed, exchanges=inspector.exchanges)
        write(config.junit_xml, junit)


@contextmanager
def running_proxy(config: ProxyConfig, say: Callable[[str], None] | None = None) -> Iterator[RunningProxy]:
    """Serve the proxy on a free loopback port in a thread until the block ends; then write the reports."""
    sock, config = bind(config.replace(host="127.0.0.1", port=0))
    app = ProxyApp(config, **({"say": say} if say else {}))
    server = _Server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="proxy", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(START_TIMEOUT)
            sock.close()
            raise RuntimeError(f"the proxy did not start on {config.base_url} within {START_TIMEOUT} s")
        time.sleep(0.01)
    try:
        yield RunningProxy(base_url=config.base_url, app=app)
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()
