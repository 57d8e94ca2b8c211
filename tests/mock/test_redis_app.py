"""The mock's own HTTP scenarios again, on the Redis store: each test of these modules needing only a client.

The tests are the same functions as in ``test_app``, ``test_admin``, ``test_faults``,
``test_journal`` and ``test_rate_limit``; only the ``client`` fixture differs: an app whose
state, faults, rate limit and journal live in a throwaway Redis.
"""

from __future__ import annotations

import inspect
import signal
import time
from collections.abc import AsyncIterator, Callable
from types import ModuleType

import httpx
import pytest

from mockserver import MockConfig
from mockserver.redis_store.connection import COMMAND_TIMEOUT

from . import test_admin, test_app, test_faults, test_journal, test_rate_limit
from .redis_server import RedisServer

pytestmark = pytest.mark.anyio

MODULES: tuple[ModuleType, ...] = (test_app, test_admin, test_faults, test_journal, test_rate_limit)


@pytest.fixture
async def client(
    config: MockConfig, redis_url: str, make_client: Callable[..., httpx.AsyncClient]
) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(config.replace(store=redis_url)) as client:
        yield client
    await client._transport.app.state_store.aclose()  # type: ignore[attr-defined]


def _parametrized(function: object) -> set[str]:
    names: set[str] = set()
    for mark in getattr(function, "pytestmark", []):
        if mark.name == "parametrize":
            argnames = mark.args[0]
            names |= {n.strip() for n in argnames.split(",")} if isinstance(argnames, str) else set(argnames)
    return names


def _client_only(function: object) -> bool:
    if not inspect.iscoroutinefunction(function):
        return False
    wanted = set(inspect.signature(function).parameters) - _parametrized(function)
    return "client" in wanted and wanted <= {"client"}


for _module in MODULES:
    for _name, _function in list(vars(_module).items()):
        if _name.startswith("test_") and _client_only(_function):
            globals()[f"test_{_module.__name__.rsplit('.', 1)[-1][5:]}__{_name[5:]}"] = _function


async def test_a_redis_that_stops_answering_is_503_then_recovery(
    redis_server: RedisServer, redis_url: str, make_client: Callable[..., httpx.AsyncClient]
) -> None:
    # A hung Redis (SIGSTOP) answers nothing: the watchdog fails the commands after the timeout.
    headers = {"Authorization": "Bearer hung"}
    async with make_client(MockConfig(store=redis_url, validate_responses=True)) as client:
        assert (await client.get("/sip-trunks", headers=headers)).status_code == 200
        assert redis_server.process is not None
        redis_server.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            answer = await client.get("/sip-trunks", headers=headers)
            waited = time.monotonic() - started
            health = await client.get("/__admin/health")  # the admin API documents its 503 too
        finally:
            redis_server.process.send_signal(signal.SIGCONT)
        assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
        assert "no answer within" in answer.json()["detail"]
        assert waited < COMMAND_TIMEOUT + 5
        assert health.status_code == 503 and health.headers["retry-after"] == "1"
        assert (await client.get("/sip-trunks", headers=headers)).status_code == 200
