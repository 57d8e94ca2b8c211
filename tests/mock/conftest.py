"""Fixtures of the mock's tests: a fresh store, app and in-process client per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from mockserver import MockConfig, Store, running_mock

from .redis_server import RedisServer


def pytest_configure(config: pytest.Config) -> None:
    # connexion (3.3) imports starlette's test client and jsonschema's RefResolver at import
    # time; their deprecation warnings are not ours to fix.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:connexion.*")
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def config() -> MockConfig:
    """Response validation on, as every test of the mock runs it."""
    return MockConfig(validate_responses=True)


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def make_client() -> Callable[..., httpx.AsyncClient]:
    """Build an in-process client for an app made from a config (and optionally a store)."""

    from mockserver import create_app  # imported here so warning filters apply (see pytest_configure)

    def make(config: MockConfig | None = None, store: Store | None = None) -> httpx.AsyncClient:
        app = create_app(config or MockConfig(validate_responses=True), store=store)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock")

    return make


@pytest.fixture
async def client(
    config: MockConfig, store: Store, make_client: Callable[..., httpx.AsyncClient]
) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(config, store) as client:
        yield client


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """A mock over a real loopback socket, one per test module (a module may override it)."""
    with running_mock(MockConfig(validate_responses=True, access_log=False)) as mock:
        yield mock.base_url


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    """A client of ``base_url``'s mock, reset to its start state for each test."""
    with httpx.Client(base_url=base_url) as client:
        assert client.post("/__admin/reset").status_code == 204
        yield client


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A throwaway redis-server for the session (no persistence), on a free loopback port."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of the session's Redis, emptied for this test."""
    if redis_server.process is None or redis_server.process.poll() is not None:
        redis_server.start()  # a test killed it
    redis_server.flush()
    return redis_server.url
