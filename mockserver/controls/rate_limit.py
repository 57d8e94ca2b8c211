"""Rate limits per organization: one token bucket per API key, refilled continuously (standard library only).

A limit of ``10/s`` is a bucket of 10 requests refilled at 10 per second: a burst of 10,
then one request every 100 ms. Over the limit the answer is ``429`` with ``Retry-After``
(whole seconds until one request is allowed again); every answer carries
``X-RateLimit-Limit`` (the bucket's size), ``X-RateLimit-Remaining`` (requests left now)
and ``X-RateLimit-Reset`` (whole seconds until the bucket is full again).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from mockserver.domain.errors import DomainError

__all__ = ["InvalidRateLimit", "RateLimit", "RateLimiter", "Verdict", "parse_rate_limit", "verdict"]

MAX_BUCKETS = 10_000  # organizations tracked at once; the least recently seen is forgotten first
_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
}
_RATE = re.compile(r"^(\d+)/(\d*)([a-z]+)$")

Clock = Callable[[], float]


class InvalidRateLimit(DomainError, ValueError):
    """A rate limit that cannot be read; the message shows the expected form."""


@dataclass(frozen=True)
class RateLimit:
    """``requests`` per ``seconds``: the bucket holds ``requests`` and refills over ``seconds``."""

    requests: int
    seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.requests < 1 or self.seconds <= 0:
            raise InvalidRateLimit(
                f"a rate limit needs at least 1 request per period (like 10/s), got {self}"
            )

    def __str__(self) -> str:
        for unit, seconds in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
            if self.seconds == seconds:
                return f"{self.requests}/{unit}"
        return f"{self.requests}/{self.seconds:g}s"

    @property
    def per_second(self) -> float:
        """Refill rate in requests per second."""
        return self.requests / self.seconds


def parse_rate_limit(text: str) -> RateLimit:
    """``"10/s"``, ``"600/min"``, ``"1000/h"`` or ``"100/10s"``.

    >>> parse_rate_limit("600/min")
    RateLimit(requests=600, seconds=60.0)
    """
    match = _RATE.match("".join(text.split()).lower())
    if match is None or match.group(3) not in _UNITS or match.group(2) == "0":
        raise InvalidRateLimit(f"rate limit {text!r} is not like 10/s, 600/min, 1000/h or 100/10s")
    count, multiplier, unit = match.groups()
    return RateLimit(int(count), _UNITS[unit] * int(multiplier or 1))


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one request against its organization's bucket, with the header values."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        """``X-RateLimit-*`` (and ``Retry-After`` when refused) as ASGI header pairs."""
        pairs = [
            (b"x-ratelimit-limit", b"%d" % self.limit),
            (b"x-ratelimit-remaining", b"%d" % self.remaining),
            (b"x-ratelimit-reset", b"%d" % self.reset),
        ]
        if not self.allowed:
            pairs.append((b"retry-after", b"%d" % self.retry_after))
        return pairs


def verdict(limit: RateLimit, tokens: float, allowed: bool) -> Verdict:
    """The verdict of a bucket left with ``tokens`` after a request was ``allowed`` (or not)."""
    rate = limit.per_second
    return Verdict(
        allowed=allowed,
        limit=limit.requests,
        remaining=int(tokens),
        reset=math.ceil((limit.requests - tokens) / rate),
        retry_after=0 if allowed else math.ceil((1 - tokens) / rate),
    )


class RateLimiter:
    """Token buckets by organization under one ``RateLimit``; ``limit`` None means off."""

    def __init__(self, limit: RateLimit | None = None, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # org → (tokens, when)
        self.limit = limit

    @property
    def limit(self) -> RateLimit | None:
        """The limit in force, or None when rate limiting is off."""
        return self._limit

    @limit.setter
    def limit(self, limit: RateLimit | None) -> None:
        self._limit = limit
        self._buckets.clear()

    def take(self, org: str) -> Verdict:
        """Spend one request of ``org``'s bucket if it holds one (the limit must be on)."""
        limit = self._limit
        assert limit is not None, "take() is only called while a limit is on"
        capacity, rate = float(limit.requests), limit.per_second
        now = self._clock()
        bucket = self._buckets.pop(org, None)
        if bucket is None:
            tokens = capacity
            if len(self._buckets) >= MAX_BUCKETS:
                del self._buckets[next(iter(self._buckets))]
        else:
            tokens = min(capacity, bucket[0] + (now - bucket[1]) * rate)
        allowed = tokens >= 1
        if allowed:
            tokens -= 1
        self._buckets[org] = (tokens, now)
        return verdict(limit, tokens, allowed)

    def reset(self, org: str | None = None) -> None:
        """Fill every bucket again, or only ``org``'s."""
        if org is None:
            self._buckets.clear()
        else:
            self._buckets.pop(org, None)
