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

__all__ = ["InvalidRateLimit", "RateLimit", "RateLimiter", "Verdict", "parse_rate_limit"]

MAX_BUCKETS = 10_000  # organizations tracked at once; the least recently seen is forgotten first
# Bounds that keep the bucket arithmetic in floats exact and its headers short: a count of
# 400 digits once overflowed float division on every request (a 500 for every organization).
MAX_REQUESTS = 1_000_000_000
MIN_PERIOD = 0.001  # seconds
MAX_PERIOD = 86_400.0  # seconds: a day
_SHOWN = 32  # characters of a refused rate limit quoted back
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
# Ten digits are enough to say any count up to MAX_REQUESTS and to refuse the next one;
# int() is never handed thousands of digits.
_RATE = re.compile(r"^(\d{1,10})/(\d{0,10})([a-z]+)$")

Clock = Callable[[], float]


class InvalidRateLimit(DomainError, ValueError):
    """A rate limit that cannot be read; the message shows the expected form."""


@dataclass(frozen=True)
class RateLimit:
    """``requests`` per ``seconds``: the bucket holds ``requests`` and refills over ``seconds``."""

    requests: int
    seconds: float = 1.0

    def __post_init__(self) -> None:
        if not 1 <= self.requests <= MAX_REQUESTS:
            raise InvalidRateLimit(
                f"a rate limit allows 1 to {MAX_REQUESTS} requests per period (like 10/s), "
                f"got {_shown_number(self.requests)}"
            )
        if not MIN_PERIOD <= self.seconds <= MAX_PERIOD:  # also refuses NaN
            raise InvalidRateLimit(
                f"a rate limit's period is {MIN_PERIOD:g} s to {MAX_PERIOD:g} s (a day), "
                f"got {_shown_number(self.seconds)} s"
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


def _shown_number(value: float) -> str:
    # A refused value, short: an int of hundreds of digits neither fits a float nor a message.
    if isinstance(value, int):
        return str(value) if abs(value) < 10**12 else "a number of over 12 digits"
    return f"{value:g}"


def parse_rate_limit(text: str) -> RateLimit:
    """``"10/s"``, ``"600/min"``, ``"1000/h"`` or ``"100/10s"``.

    >>> parse_rate_limit("600/min")
    RateLimit(requests=600, seconds=60.0)
    """
    match = _RATE.match("".join(text.split()).lower())
    if match is None or match.group(3) not in _UNITS or match.group(2) == "0":
        shown = text if len(text) <= _SHOWN else f"{text[:_SHOWN]}..."
        raise InvalidRateLimit(f"rate limit {shown!r} is not like 10/s, 600/min, 1000/h or 100/10s")
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
        return Verdict(
            allowed=allowed,
            limit=limit.requests,
            remaining=int(tokens),
            reset=math.ceil((capacity - tokens) / rate),
            retry_after=0 if allowed else math.ceil((1 - tokens) / rate),
        )

    def reset(self, org: str | None = None) -> None:
        """Fill every bucket again, or only ``org``'s."""
        if org is None:
            self._buckets.clear()
        else:
            self._buckets.pop(org, None)
