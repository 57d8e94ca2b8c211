"""A synchronous Python client for the mock's admin API (``/__admin``), on httpx.

>>> with AdminClient("http://127.0.0.1:4010") as admin:  # doctest: +SKIP
...     admin.inject("POST /sip-trunks status=503 times=2")
...     ...  # run the code under test against http://127.0.0.1:4010
...     [entry.status for entry in admin.requests(method="POST")]
[503, 503, 201]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from mockserver.controls.faults import FaultSpec, Latency, parse_fault, parse_latency

__all__ = ["AdminClient", "AdminError", "JournalEntry"]


class AdminError(Exception):
    """The admin API refused a call: its status and the problem's detail (never a token)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class JournalEntry:
    """One request of the journal, as ``GET /__admin/requests`` returns it (passwords masked)."""

    id: int
    time: str
    method: str
    path: str
    status: int | None  # None: the connection was dropped, no answer was sent
    duration_ms: float
    org: str | None
    request_body: Any
    response_body: Any
    truncated: bool
    faults: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JournalEntry:
        """Build from one item of the journal's ``requests`` list."""
        return cls(**{**data, "faults": tuple(data["faults"])})


def _latency(value: Any) -> Latency | None:
    # 50 (ms), "50ms", "10-100ms", (10, 100) or a Latency.
    if value is None or isinstance(value, Latency):
        return value
    if isinstance(value, str):
        return parse_latency(value)
    if isinstance(value, int | float):
        return Latency(float(value), float(value))
    low, high = value
    return Latency(float(low), float(high))


def fault_spec(spec: str | FaultSpec | None = None, /, **fields: Any) -> FaultSpec:
    """A fault from the command-line syntax and/or fields: ``fault_spec("POST /sip-trunks", status=503)``."""
    if "latency" in fields:
        fields["latency"] = _latency(fields["latency"])
    if spec is None:
        return FaultSpec(**fields)
    base = parse_fault(spec) if isinstance(spec, str) else spec
    return dataclasses.replace(base, **fields)


class AdminClient:
    """The admin API of the mock at ``base_url``; every call returns plain data or raises ``AdminError``.

    ``admin_token``: the mock's ``--admin-token`` (sent as ``Authorization: Bearer``), when it has one.
    """

    def __init__(
        self,
        base_url: str,
        *,
        admin_token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {} if admin_token is None else {"Authorization": f"Bearer {admin_token}"}
        # trust_env=False: the mock is reached directly, never through a proxy from the environment.
        self._http = httpx.Client(
            base_url=f"{self.base_url}/__admin",
            headers=headers,
            timeout=timeout,
            transport=transport,
            trust_env=False,
        )

    def __repr__(self) -> str:
        return f"<AdminClient {self.base_url}>"

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self._http.request(method, url, **kwargs)
        if response.status_code >= 400:
            try:
                detail = str(response.json().get("detail", response.text))
            except ValueError:
                detail = response.text
            raise AdminError(response.status_code, detail)
        return response.json() if response.content else None

    # State ---------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``{"status": "ok", "organizations": …, "trunks": …, "phone_numbers": …}``."""
        result: dict[str, Any] = self._call("GET", "/health")
        return result

    def reset(self, token: str | None = None) -> None:
        """Back to the start: state, faults, rate limit, journal (of every organization, or ``token``'s)."""
        self._call("POST", "/reset", params=_params(token=token))

    def state(self) -> dict[str, Any]:
        """The whole state, in the seed-file format (never passwords)."""
        result: dict[str, Any] = self._call("GET", "/state")
        return result

    def put_state(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the whole state with a seed-file document; returns the counts."""
        result: dict[str, Any] = self._call("PUT", "/state", json=dict(state))
        return result

    # Faults --------------------------------------------------------------------------------

    def inject(self, spec: str | FaultSpec | None = None, /, **fields: Any) -> dict[str, Any]:
        """Add a fault and return it (with its ``id``).

        ``spec`` is the command line's syntax; keyword fields (``method``, ``path``,
        ``status``, ``drop``, ``latency`` as ``50``/``"10-100ms"``/``(10, 100)``, ``times``,
        ``fraction``, ``token``, ``retry_after``) add to it or replace its parts:

        >>> admin.inject("GET /sip-trunks/{id} status=503", times=2)  # doctest: +SKIP
        >>> admin.inject(method="POST", path="/sip-trunks", drop=True, times=1)  # doctest: +SKIP
        """
        result: dict[str, Any] = self._call("POST", "/faults", json=fault_spec(spec, **fields).to_json())
        return result

    def faults(self) -> list[dict[str, Any]]:
        """The faults in force, in the order they are tried, with ``hits`` and ``remaining``."""
        result: list[dict[str, Any]] = self._call("GET", "/faults")["faults"]
        return result

    def remove_fault(self, fault_id: str) -> None:
        """Remove one fault by id."""
        self._call("DELETE", f"/faults/{quote(fault_id, safe='')}")

    def clear_faults(self, token: str | None = None) -> None:
        """Remove every fault, or those scoped to ``token``'s organization."""
        self._call("DELETE", "/faults", params=_params(token=token))

    # Journal -------------------------------------------------------------------------------

    def requests(
        self, *, token: str | None = None, method: str | None = None, path: str | None = None
    ) -> list[JournalEntry]:
        """The journal, oldest first; ``path`` may be a template such as ``/sip-trunks/{id}``."""
        data = self._call("GET", "/requests", params=_params(token=token, method=method, path=path))
        return [JournalEntry.from_json(item) for item in data["requests"]]

    def clear_requests(self) -> None:
        """Empty the journal."""
        self._call("DELETE", "/requests")

    # Rate limit ----------------------------------------------------------------------------

    def rate_limit(self) -> str | None:
        """The rate limit in force (``"10/s"``), or None when off."""
        rate: str | None = self._call("GET", "/rate-limit")["rate"]
        return rate

    def set_rate_limit(self, rate: str | None) -> None:
        """Switch the per-organization rate limit on (``"10/s"``, ``"600/min"``) or off (None)."""
        if rate is None:
            self._call("DELETE", "/rate-limit")
        else:
            self._call("PUT", "/rate-limit", json={"rate": rate})


def _params(**values: str | None) -> dict[str, str]:
    return {name: value for name, value in values.items() if value is not None}
