"""pytest plugin (entry point ``pytest11``): the ``sip_trunks_mock`` fixture, the mock of the SIP trunks API.

Loading the plugin imports nothing heavy. The mock (connexion, uvicorn) starts the first
time a test asks for ``sip_trunks_mock``, once per session, in-process on a free loopback
port; every test gets it back in its start state (``POST /__admin/reset``: state, faults,
rate limit, journal)::

    def test_my_client_retries_on_429(sip_trunks_mock):
        sip_trunks_mock.inject("POST /sip-trunks status=429 times=2 retry_after=0")
        client = MyClient(sip_trunks_mock.base_url, token=sip_trunks_mock.token)
        client.create_trunk(name="Main", host="sip.example.com", username="u", password="p")
        assert [r.status for r in sip_trunks_mock.requests()] == [429, 429, 201]

To change how the mock runs, override the session fixture ``sip_trunks_mock_config`` (it
returns a ``mockserver.MockConfig``) in a ``conftest.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mockserver.client import AdminClient, JournalEntry
    from mockserver.config import MockConfig
    from mockserver.controls.faults import FaultSpec
    from mockserver.serve import RunningMock

__all__ = [
    "DEFAULT_TOKEN",
    "SipTrunksMock",
    "sip_trunks_mock",
    "sip_trunks_mock_config",
    "sip_trunks_mock_server",
]

DEFAULT_TOKEN = "pytest-sip-trunks"


class SipTrunksMock:
    """The running mock as one test sees it: where it is, an API key, and its admin API."""

    def __init__(self, base_url: str, token: str, admin: AdminClient) -> None:
        self.base_url = base_url
        self.token = token
        self.admin = admin

    def __repr__(self) -> str:
        return f"<SipTrunksMock {self.base_url}>"

    @property
    def headers(self) -> dict[str, str]:
        """``Authorization: Bearer <token>``, for requests made by the test itself."""
        return {"Authorization": f"Bearer {self.token}"}

    def requests(
        self, *, token: str | None = None, method: str | None = None, path: str | None = None
    ) -> list[JournalEntry]:
        """What the mock was asked in this test, oldest first (every organization unless ``token``)."""
        return self.admin.requests(token=token, method=method, path=path)

    def inject(self, spec: str | FaultSpec | None = None, /, **fields: Any) -> dict[str, Any]:
        """Add a fault for this test: ``inject("POST /sip-trunks status=503 times=2")`` or fields."""
        return self.admin.inject(spec, **fields)

    def seed(self, state: Mapping[str, Any] | str | Path) -> None:
        """Start this test from a state: a seed file, a ``{"organizations": …}`` document, or one
        organization's ``{"trunks": […], "phone_numbers": […]}`` for ``.token``.

        It replaces the whole state (the next test starts from the session's start state again).
        """
        if isinstance(state, str | Path):
            import yaml  # JSON is YAML too

            state = yaml.safe_load(Path(state).read_text(encoding="utf-8"))
            if not isinstance(state, Mapping):
                raise ValueError("a seed file holds a mapping with 'organizations'")
        document = state if "organizations" in state else {"organizations": {self.token: dict(state)}}
        self.admin.put_state(document)

    def rate_limit(self, rate: str | None) -> None:
        """Rate-limit every organization (``"10/s"``) for this test, or switch it off (None)."""
        self.admin.set_rate_limit(rate)

    def clear_faults(self) -> None:
        """Remove every fault."""
        self.admin.clear_faults()

    def reset(self) -> None:
        """Back to the start state now (done before every test already)."""
        self.admin.reset()


@pytest.fixture(scope="session")
def sip_trunks_mock_config() -> MockConfig:
    """How the session's mock runs; override it in a conftest.py to change it."""
    from mockserver.config import MockConfig

    return MockConfig(access_log=False)


@pytest.fixture(scope="session")
def sip_trunks_mock_server(sip_trunks_mock_config: MockConfig) -> Iterator[RunningMock]:
    """The mock of the session, served on 127.0.0.1 and a free port until the session ends."""
    with warnings.catch_warnings():
        # connexion imports starlette's test client at import time, which warns about httpx.
        warnings.simplefilter("ignore")
        import mockserver.http.app  # noqa: F401
    from mockserver.serve import running_mock

    with running_mock(sip_trunks_mock_config) as running:
        yield running


@pytest.fixture
def sip_trunks_mock(sip_trunks_mock_server: RunningMock) -> Iterator[SipTrunksMock]:
    """The session's mock, reset for this test: ``.base_url``, ``.token``, ``.requests()``, ``.inject()``,
    ``.seed()``, ``.rate_limit()``, ``.admin`` (an ``AdminClient``)."""
    from mockserver.client import AdminClient

    config = sip_trunks_mock_server.config
    tokens = config.tokens
    with AdminClient(sip_trunks_mock_server.base_url, admin_token=config.admin_token) as admin:
        admin.reset()
        yield SipTrunksMock(sip_trunks_mock_server.base_url, tokens[0] if tokens else DEFAULT_TOKEN, admin)
