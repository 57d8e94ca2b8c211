"""Injected faults: which requests (method, path template, organization) get what (latency, a status, a drop).

Standard library only, so the config can hold parsed faults. A fault is written the same way
on the command line, to ``AdminClient.inject`` and (as JSON fields) to ``POST /__admin/faults``::

    [METHOD] [PATH] EFFECT... [times=N] [fraction=F] [token=KEY] [retry_after=S]

    POST /sip-trunks status=503 times=2       the next 2 creates answer 503
    GET /sip-trunks/{id} status=429 fraction=0.25
    * /phone-numbers/{id} drop times=1        the next call closes the connection unanswered
    latency=10-100ms                          every operation, 10 to 100 ms slower

EFFECT is ``status=CODE``, ``drop`` and/or ``latency=50ms|1.5s|10-100ms``. Which statuses
each operation accepts, and which faults apply to a request, is ``mockserver.controls.fault_table``'s job.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.domain.errors import DomainError, NotFound
from mockserver.domain.models import org_key

__all__ = [
    "ANY",
    "DEFAULT_RETRY_AFTER",
    "ConnectionDropped",
    "FaultNotFound",
    "FaultSpec",
    "InvalidFault",
    "Latency",
    "parse_fault",
    "parse_latency",
    "path_matcher",
]

ANY = "*"
MAX_LATENCY_MS = 60_000.0
MAX_TIMES = 1_000_000_000
MAX_RETRY_AFTER = 86_400  # seconds: a day
DEFAULT_RETRY_AFTER = 1  # seconds, on injected 429 and 503 unless retry_after= says otherwise
RETRY_AFTER_STATUSES = frozenset({429, 503})
_METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")
_OPTIONS = "status=, drop, latency=, times=, fraction=, token=, retry_after="
_LATENCY = re.compile(r"^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?(ms|s)$")


def path_matcher(path: str) -> re.Pattern[str]:
    """A pattern for a concrete path, or for a template whose ``{name}`` parts match one segment."""
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")


class ConnectionDropped(ConnectionError):
    """A fault asked to drop the connection, but the server gives no way to (only uvicorn's does)."""


class InvalidFault(DomainError, ValueError):
    """A fault that cannot be injected; the message says why and what is allowed."""


class FaultNotFound(NotFound):
    """No fault with this id (it was removed, or never added)."""

    def __init__(self) -> None:
        super().__init__("No fault with this id")


@dataclass(frozen=True)
class Latency:
    """Added latency in milliseconds: fixed (``min_ms == max_ms``) or drawn uniformly from a range."""

    min_ms: float
    max_ms: float

    def __post_init__(self) -> None:
        if not 0 <= self.min_ms <= self.max_ms <= MAX_LATENCY_MS:
            raise InvalidFault(
                f"latency must be between 0 and {MAX_LATENCY_MS:g} ms with the lower bound first, got {self}"
            )

    def __str__(self) -> str:
        if self.min_ms == self.max_ms:
            return f"{self.min_ms:g}ms"
        return f"{self.min_ms:g}-{self.max_ms:g}ms"

    def seconds(self, rng: random.Random) -> float:
        """One delay in seconds (a draw from ``rng`` for a range)."""
        if self.min_ms == self.max_ms:
            return self.min_ms / 1000
        return rng.uniform(self.min_ms, self.max_ms) / 1000


def parse_latency(text: str) -> Latency:
    """``"50ms"``, ``"1.5s"`` or a range ``"10-100ms"`` (one unit for both bounds)."""
    match = _LATENCY.match(text.strip().lower())
    if match is None:
        raise InvalidFault(f"latency {text!r} is not like 50ms, 1.5s or 10-100ms")
    low, high, unit = match.groups()
    scale = 1000.0 if unit == "s" else 1.0
    low_ms = float(low) * scale
    return Latency(low_ms, float(high) * scale if high else low_ms)


@dataclass(frozen=True)
class FaultSpec:
    """What a fault matches and does, before it is added to a table (no id, no counters).

    The token is kept out of ``repr`` and ``str``: they show the organization's hash instead.
    """

    method: str = ANY
    path: str = ANY
    status: int | None = None
    drop: bool = False
    latency: Latency | None = None
    times: int | None = None
    fraction: float = 1.0
    token: str | None = field(default=None, repr=False)
    retry_after: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        if self.method != ANY and self.method not in _METHODS:
            raise InvalidFault(f"method {self.method!r} is not an HTTP method or {ANY}")
        if self.path != ANY and not self.path.startswith("/"):
            raise InvalidFault(
                f"path {self.path!r} must be a path template like /sip-trunks/{{id}}, or {ANY}"
            )
        if self.status is not None and not 400 <= self.status <= 599:
            raise InvalidFault(f"status must be an error status (400-599), got {self.status}")
        if self.status is not None and self.drop:
            raise InvalidFault("a fault either answers a status or drops the connection, not both")
        if self.status is None and not self.drop and self.latency is None:
            raise InvalidFault("a fault needs an effect: status=CODE, drop or latency=DURATION")
        if self.times is not None and not 1 <= self.times <= MAX_TIMES:
            raise InvalidFault(f"times must be 1 to {MAX_TIMES}, got {_short(self.times)}")
        if not 0 < self.fraction <= 1:
            raise InvalidFault(f"fraction must be over 0 and at most 1, got {self.fraction:g}")
        if self.token is not None and (not self.token or self.token != self.token.strip()):
            raise InvalidFault("token must be non-empty and without surrounding spaces")
        if self.retry_after is not None:
            if self.status not in RETRY_AFTER_STATUSES:
                raise InvalidFault("retry_after goes with status=429 or status=503")
            if not 0 <= self.retry_after <= MAX_RETRY_AFTER:
                raise InvalidFault(
                    f"retry_after must be 0 to {MAX_RETRY_AFTER} seconds, got {_short(self.retry_after)}"
                )

    @property
    def org(self) -> str | None:
        """The hash of the organization the fault is scoped to (``None``: every organization)."""
        return None if self.token is None else org_key(self.token)

    def __str__(self) -> str:
        words = [self.method, self.path]
        if self.status is not None:
            words.append(f"status={self.status}")
        if self.drop:
            words.append("drop")
        if self.latency is not None:
            words.append(f"latency={self.latency}")
        if self.times is not None:
            words.append(f"times={self.times}")
        if self.fraction != 1:
            words.append(f"fraction={self.fraction:g}")
        if self.retry_after is not None:
            words.append(f"retry_after={self.retry_after}")
        if self.token is not None:
            words.append(f"org={self.org}")
        return " ".join(words)

    def to_json(self) -> dict[str, Any]:
        """The body of ``POST /__admin/faults`` for this fault (the token included: it is a request)."""
        body: dict[str, Any] = {"method": self.method, "path": self.path}
        if self.status is not None:
            body["status"] = self.status
        if self.drop:
            body["drop"] = True
        if self.latency is not None:
            body["latency_ms"] = self.latency.min_ms
            if self.latency.max_ms != self.latency.min_ms:
                body["latency_max_ms"] = self.latency.max_ms
        for name in ("times", "token", "retry_after"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        if self.fraction != 1:
            body["fraction"] = self.fraction
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> FaultSpec:
        """The inverse of ``to_json`` (the admin API has checked types and ranges)."""
        latency = None
        if body.get("latency_ms") is not None:
            low = float(body["latency_ms"])
            latency = Latency(low, float(body.get("latency_max_ms", low)))
        elif body.get("latency_max_ms") is not None:
            raise InvalidFault("latency_max_ms needs latency_ms (the lower bound)")
        return cls(
            method=body.get("method", ANY),
            path=body.get("path", ANY),
            status=body.get("status"),
            drop=bool(body.get("drop", False)),
            latency=latency,
            times=body.get("times"),
            fraction=float(body.get("fraction", 1.0)),
            token=body.get("token"),
            retry_after=body.get("retry_after"),
        )


def _short(value: object, limit: int = 32) -> str:
    """``value`` as quoted back in an error: at most ``limit`` characters (a number may have thousands)."""
    if isinstance(value, int) and abs(value) >= 10**limit:  # str() refuses over 4300 digits
        return f"a number of over {limit} digits"
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def _integer(name: str, value: str) -> int:
    if not value.isdigit() or len(value) > 12:  # int() is never handed thousands of digits
        raise InvalidFault(f"{name} must be a whole number of at most 12 digits, got {_short(value)!r}")
    return int(value)


def _fraction(value: str) -> float:
    try:
        return float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise InvalidFault(f"fraction must be a number like 0.25 or 25%, got {value!r}") from None


def parse_fault(text: str) -> FaultSpec:
    """Parse ``[METHOD] [PATH] status=CODE|drop|latency=D [times=N] [fraction=F] [token=K] [retry_after=S]``.

    >>> str(parse_fault("post /sip-trunks status=503 times=2"))
    'POST /sip-trunks status=503 times=2'
    """
    words = text.split()
    head: list[str] = []
    while words and "=" not in words[0] and words[0].lower() != "drop" and len(head) < 2:
        head.append(words.pop(0))
    method, path = ANY, ANY
    if len(head) == 2:
        method, path = head
    elif head and (head[0].startswith("/") or head[0] == ANY):
        path = head[0]
    elif head:
        method = head[0]
    fields: dict[str, Any] = {"method": method, "path": path}
    for word in words:
        name, equals, value = word.partition("=")
        name = name.lower().replace("-", "_")
        if name == "drop" and not equals:
            fields["drop"] = True
        elif not equals or not value:
            raise InvalidFault(f"{word!r} is not an option; use {_OPTIONS}")
        elif name in ("status", "times", "retry_after"):
            fields[name] = _integer(name, value)
        elif name == "fraction":
            fields["fraction"] = _fraction(value)
        elif name == "latency":
            fields["latency"] = parse_latency(value)
        elif name == "token":
            fields["token"] = value
        else:
            raise InvalidFault(f"unknown option {name!r}; use {_OPTIONS}")
    return FaultSpec(**fields)
