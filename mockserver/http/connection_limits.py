"""How much of the mock one client connection may hold; free of uvicorn, so the CLI imports it cheaply."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

__all__ = [
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_HEADERS",
    "DEFAULT_MAX_HEADER_BYTES",
    "FD_RESERVE",
    "ConnectionLimits",
    "FdBudget",
    "fit_to_fd_limit",
]

DEFAULT_MAX_HEADER_BYTES = 32768
"""A request's head (request line and headers): 32 KiB, as nginx's default buffers and Cloudflare."""
DEFAULT_MAX_HEADERS = 100
"""Header fields per request, as Apache's ``LimitRequestFields``."""
DEFAULT_HEADER_TIMEOUT = 10.0
"""Seconds from a request's first byte to the end of its headers."""
DEFAULT_IDLE_TIMEOUT = 5.0
"""Seconds a connection may stay open with no request under way (uvicorn's keep-alive default)."""
DEFAULT_MAX_CONNECTIONS = 1000
"""Open client connections at once."""
FD_RESERVE = 64
"""File descriptors kept for everything but client connections (listening socket, logs, files)."""


@dataclass(frozen=True)
class ConnectionLimits:
    """The limits on client connections that the mock's HTTP protocol enforces.

    ``max_header_bytes`` and ``max_headers`` bound one request's head (over them: ``431``);
    ``header_timeout`` is how long a head may take from its first byte (then ``408`` and the
    connection is closed); ``idle_timeout`` closes a connection with no request under way;
    ``max_connections`` caps open connections (at the cap, the connection idle or sending
    a head for the longest is closed to let a new one in).
    """

    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_headers: int = DEFAULT_MAX_HEADERS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    def __post_init__(self) -> None:
        if self.max_header_bytes < 1024:
            raise ValueError(f"max_header_bytes must be 1024 or more, got {self.max_header_bytes}")
        if self.max_headers < 1:
            raise ValueError(f"max_headers must be 1 or more, got {self.max_headers}")
        if not self.header_timeout > 0:
            raise ValueError(f"header_timeout must be more than 0 seconds, got {self.header_timeout}")
        if not self.idle_timeout > 0:
            raise ValueError(f"idle_timeout must be more than 0 seconds, got {self.idle_timeout}")
        if self.max_connections < 1:
            raise ValueError(f"max_connections must be 1 or more, got {self.max_connections}")


@dataclass(frozen=True)
class FdBudget:
    """How many connections the process's open-file limit allows, and what was changed to get there."""

    max_connections: int
    wanted: int
    soft_limit: int
    raised_from: int | None = None
    """The soft limit before it was raised, or None when it was left as it was."""

    @property
    def lowered(self) -> bool:
        """True when the limit allows fewer connections than were asked for."""
        return self.max_connections < self.wanted


def _open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return FD_RESERVE // 2


def fit_to_fd_limit(max_connections: int, *, raise_soft_limit: bool) -> FdBudget:
    """The connection cap the open-file limit allows; with ``raise_soft_limit``, first raise the soft limit
    (towards the hard one) as far as ``max_connections`` needs.

    One connection is one file descriptor; ``FD_RESERVE`` more are kept for the rest of the
    process, beyond those already open. Without this, a cap above the limit would make
    ``accept()`` fail with "Too many open files" and the mock stop answering everyone.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    in_use = _open_fds() + FD_RESERVE
    needed = max_connections + in_use
    raised_from = None
    if raise_soft_limit and soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        if target > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                raised_from, soft = soft, target
            except (ValueError, OSError):
                pass  # left as it was; the cap is fitted to it below
    allowed = max_connections if soft == resource.RLIM_INFINITY else min(max_connections, soft - in_use)
    return FdBudget(max(1, allowed), max_connections, soft, raised_from)
