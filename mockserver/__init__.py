"""The stateful in-memory mock server of the SIP trunks API.

>>> from mockserver import MockConfig, running_mock
>>> with running_mock(MockConfig(validate_responses=True)) as mock:  # doctest: +SKIP
...     print(mock.base_url)
http://127.0.0.1:54321
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockserver.config import MockConfig
from mockserver.controls import ConnectionDropped, RateLimit
from mockserver.domain.store import Store
from mockserver.domain.vault import Vault

if TYPE_CHECKING:
    from mockserver.http.app import create_app
    from mockserver.serve import RunningMock, running_mock

__all__ = [
    "ConnectionDropped",
    "MockConfig",
    "RateLimit",
    "RunningMock",
    "Store",
    "Vault",
    "create_app",
    "running_mock",
]


def __getattr__(name: str) -> Any:
    # connexion and uvicorn load only when the app is wanted, so `import mockserver.domain.store`
    # (and the CLI's --help) stay light.
    if name == "create_app":
        from mockserver.http.app import create_app

        return create_app
    if name in ("running_mock", "RunningMock"):
        from mockserver import serve

        return getattr(serve, name)
    raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
