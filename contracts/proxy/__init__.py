"""``sip-trunks proxy``: a reverse proxy that checks live traffic against the contract, with memory.

>>> from contracts.proxy import ProxyConfig, running_proxy
>>> with running_proxy(ProxyConfig(upstream="http://127.0.0.1:4010")) as proxy:  # doctest: +SKIP
...     httpx.get(f"{proxy.base_url}/sip-trunks", headers={"Authorization": "Bearer k"})
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from contracts.proxy.config import ProxyConfig
from contracts.proxy.violations import Violation

if TYPE_CHECKING:
    from contracts.proxy.app import ProxyApp
    from contracts.proxy.serve import RunningProxy, running_proxy

__all__ = ["ProxyApp", "ProxyConfig", "RunningProxy", "Violation", "running_proxy"]


def __getattr__(name: str) -> Any:
    # schemathesis, httpx and uvicorn load only when a proxy is wanted.
    if name == "ProxyApp":
        from contracts.proxy.app import ProxyApp

        return ProxyApp
    if name in ("running_proxy", "RunningProxy"):
        from contracts.proxy import serve

        return getattr(serve, name)
    raise AttributeError(f"module 'contracts.proxy' has no attribute {name!r}")
