"""The mock's settings: one frozen object, with the environment fallbacks resolved here."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mockserver.controls.faults import FaultSpec, Latency
from mockserver.controls.journal import DEFAULT_JOURNAL_SIZE, MAX_JOURNAL_SIZE
from mockserver.controls.rate_limit import RateLimit
from mockserver.domain.store import DEFAULT_MAX_ORGANIZATIONS, DEFAULT_MAX_TRUNKS
from mockserver.http.connection_limits import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADERS,
    ConnectionLimits,
)

__all__ = ["ADMIN_TOKEN_ENV", "MAX_BODY_BYTES", "TOKENS_ENV", "MockConfig", "parse_tokens"]

TOKENS_ENV = "SIP_TRUNKS_TOKENS"
ADMIN_TOKEN_ENV = "SIP_TRUNKS_ADMIN_TOKEN"
MAX_BODY_BYTES = 65536  # the spec's 413 limit (64 KiB)


def parse_tokens(value: str) -> tuple[str, ...]:
    """Split a comma-separated list of API keys, dropping blanks: ``"a, b,"`` → ``("a", "b")``."""
    return tuple(token.strip() for token in value.split(",") if token.strip())


@dataclass(frozen=True)
class MockConfig:
    """How one mock server runs; every field has a safe default.

    ``tokens`` empty means any non-empty bearer token is accepted (each one its own
    organization); otherwise only those tokens are. Past ``max_organizations`` organizations a
    new key evicts the one unused the longest (never the seed's, never those of ``tokens``).
    ``latency`` (every operation) and ``faults`` are the faults the mock starts with,
    ``fault_seed`` seeds their draws; ``rate_limit`` None is off; ``journal_size`` 0 turns the
    request journal off. With ``admin_token``, ``/__admin`` calls need it as a bearer token.
    ``max_header_bytes`` … ``max_connections`` bound client connections (``ConnectionLimits``).
    """

    host: str = "127.0.0.1"
    port: int = 4010
    tokens: tuple[str, ...] = ()
    seed_file: Path | None = None
    max_trunks: int = DEFAULT_MAX_TRUNKS
    max_organizations: int = DEFAULT_MAX_ORGANIZATIONS
    max_body_bytes: int = MAX_BODY_BYTES
    validate_responses: bool = False
    access_log: bool = True
    log_level: str = "info"
    latency: Latency | None = None
    faults: tuple[FaultSpec, ...] = ()
    fault_seed: int = 0
    rate_limit: RateLimit | None = None
    journal_size: int = DEFAULT_JOURNAL_SIZE
    admin_token: str | None = field(default=None, repr=False)  # a secret: never shown
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_headers: int = DEFAULT_MAX_HEADERS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    def __post_init__(self) -> None:
        if self.max_trunks < 0:
            raise ValueError(f"max_trunks must be 0 or more, got {self.max_trunks}")
        if self.max_organizations < 1:
            raise ValueError(f"max_organizations must be 1 or more, got {self.max_organizations}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {self.port}")
        if any(not token or token != token.strip() for token in self.tokens):
            raise ValueError("tokens must be non-empty and without surrounding spaces")
        if not 0 <= self.journal_size <= MAX_JOURNAL_SIZE:
            raise ValueError(
                f"journal_size must be between 0 and {MAX_JOURNAL_SIZE}, got {self.journal_size}"
            )
        if self.admin_token is not None and (
            not self.admin_token or self.admin_token != self.admin_token.strip()
        ):
            raise ValueError("the admin token must be non-empty and without surrounding spaces")
        object.__setattr__(self, "faults", tuple(self.faults))
        _ = self.connection_limits  # refuses limits out of range

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **fields: Any) -> MockConfig:
        """A config from ``fields``; without ``tokens`` (or with none), ``SIP_TRUNKS_TOKENS`` gives them,
        and without ``admin_token``, ``SIP_TRUNKS_ADMIN_TOKEN`` (an empty one is none)."""
        environ = os.environ if environ is None else environ
        if fields.get("admin_token") is None:
            fields["admin_token"] = environ.get(ADMIN_TOKEN_ENV) or None
        if not fields.get("tokens"):
            fields["tokens"] = parse_tokens(environ.get(TOKENS_ENV, ""))
        else:
            fields["tokens"] = tuple(fields["tokens"])
        return cls(**fields)

    def replace(self, **changes: Any) -> MockConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @property
    def startup_faults(self) -> tuple[FaultSpec, ...]:
        """The faults to start with: ``latency`` on every operation first, then ``faults``."""
        latency = () if self.latency is None else (FaultSpec(latency=self.latency),)
        return latency + self.faults

    @property
    def loopback_only(self) -> bool:
        """Whether ``host`` is a loopback address or ``localhost``: unreachable from other machines."""
        if self.host.lower() in ("localhost", "localhost."):
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:  # a host name: it may resolve to any interface
            return False

    @property
    def connection_limits(self) -> ConnectionLimits:
        """The limits on client connections that the server enforces."""
        return ConnectionLimits(
            max_header_bytes=self.max_header_bytes,
            max_headers=self.max_headers,
            header_timeout=self.header_timeout,
            idle_timeout=self.idle_timeout,
            max_connections=self.max_connections,
        )

    @property
    def base_url(self) -> str:
        """The URL clients use, e.g. ``http://127.0.0.1:4010``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
