"""The run's safety policy: one ``Guard`` that every request passes, whichever client sends it.

Before each request it paces the rate (``--rate-limit``), spends the budget
(``--max-requests``, ``--time-budget``) and refuses what the run must never send: a write in
``--read-only`` mode, a phone-number write with ``--no-phone-writes``, a write to a trunk the
run did not create. After each answer (each ``429`` waited out too) it tells the ledger what was
created or listed, and ``on_answer`` (the run's API coverage) what came back. A ``429`` is
waited out (``Retry-After``) and retried here, so no check ever sees it.
"""

from __future__ import annotations

import ipaddress
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urlsplit

from contracts.errors import ContractsError, UsageError
from contracts.safety.ledger import Ledger

__all__ = [
    "SAFE_METHODS",
    "AnswerHook",
    "BudgetExhausted",
    "Guard",
    "Halted",
    "Refused",
    "Throttled",
    "is_loopback",
    "parse_duration",
    "parse_rate",
    "retry_after_seconds",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A 429 is retried this many times before it is handed to the checks as it is.
MAX_RATE_LIMIT_RETRIES = 8
# Longer Retry-After values are capped: the time budget bounds the wait anyway.
MAX_RETRY_AFTER = 60.0
# Seconds the requests in flight get to be answered after Ctrl-C or SIGTERM, before they give up.
HALT_GRACE = 2.0
# All 429 waits of a run together, by default: a target that throttles for longer is not checkable.
DEFAULT_MAX_RATE_LIMIT_WAIT = 60.0
_RESOURCE = re.compile(r"^/(?P<kind>sip-trunks|phone-numbers)/(?P<id>[^/?#]+)")
_RATE = re.compile(r"^(?P<count>\d+(?:\.\d+)?)/(?P<unit>s|sec|second|m|min|minute)$")
_DURATION = re.compile(r"^(?P<amount>\d+(?:\.\d+)?)(?P<unit>ms|s|m|min|h)?$")
_UNIT_SECONDS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0, "h": 3600.0}

Sleep = Callable[[float], None]
Clock = Callable[[], float]
# Told (method, path, status) of every answer, whichever client got it.
AnswerHook = Callable[[str, str, int], None]


class BudgetExhausted(KeyboardInterrupt):
    """``--max-requests`` or ``--time-budget`` is spent: the run stops sending and cleans up.

    A ``KeyboardInterrupt``, so hypothesis and schemathesis stop the way they stop for Ctrl-C;
    the engine tells the two apart by ``Guard.stopped``.
    """


class Throttled(BudgetExhausted):
    """The target answered ``429`` past ``--max-rate-limit-wait`` in all: the run stops (exit 2)."""


class Halted(KeyboardInterrupt):
    """The run was interrupted while other threads had requests in flight: send nothing more.

    Raised by ``Guard.admit`` in every thread once ``Guard.halt`` was called (Ctrl-C); the
    clean-up's requests are exempt.
    """


class Refused(ContractsError):
    """The run was about to send a request its safety options forbid; it stops instead."""


def parse_rate(text: str) -> float:
    """Requests per second from ``"10/s"``, ``"2.5/s"`` or ``"600/min"``."""
    match = _RATE.match("".join(text.split()).lower())
    if match is None or float(match["count"]) <= 0:
        raise UsageError(f"--rate-limit must look like 10/s or 600/min, got {text!r}")
    return float(match["count"]) / _UNIT_SECONDS[match["unit"]]


def parse_duration(text: str, option: str = "--time-budget") -> float:
    """Seconds from ``"90"``, ``"90s"``, ``"5m"`` or ``"1h"``; ``option`` names it in the error."""
    match = _DURATION.match(text.strip().lower())
    if match is None or float(match["amount"]) <= 0:
        raise UsageError(f"{option} must look like 90s, 5m or 1h, got {text!r}")
    unit = match["unit"] or "s"
    return float(match["amount"]) * (0.001 if unit == "ms" else _UNIT_SECONDS[unit])


def is_loopback(base_url: str) -> bool:
    """Whether ``base_url`` names this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def retry_after_seconds(value: str | None) -> float:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date); 1 s when absent or unreadable."""
    if value is None:
        return 1.0
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


@dataclass
class Guard:
    """What one run may send, and how fast; shared by our client and schemathesis's.

    ``tokens`` maps each API key of the run to its organization (``first``/``second``): a
    request is a write by an organization when its method has a side effect and its
    Authorization header carries that organization's key.
    """

    ledger: Ledger
    tokens: dict[str, str] = field(default_factory=dict)
    read_only: bool = False
    phone_writes: bool = True
    rate: float | None = None  # requests per second
    max_requests: int | None = None
    time_budget: float | None = None  # seconds
    max_rate_limit_wait: float = DEFAULT_MAX_RATE_LIMIT_WAIT  # seconds of 429 waits in all
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    sent: int = 0
    rate_limited: int = 0  # 429s waited out
    rate_limit_waited: float = 0.0  # seconds spent waiting them out
    stopped: str | None = None  # why the budget ended the run
    throttled: bool = False  # the budget was the 429 waits: no verdict (exit 2)
    cleaning: bool = False  # cleanup is exempt from the budget
    halted: bool = False  # Ctrl-C: every thread stops sending (see ``halt``)
    halted_at: float | None = None
    on_answer: AnswerHook | None = None
    _started: float = field(default=0.0, repr=False)
    _next_at: float = field(default=0.0, repr=False)
    # A 429's Retry-After holds back every thread of the run until then.
    _resume_at: float = field(default=0.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._started = self.clock()

    # -- what may be sent ---------------------------------------------------------------------

    def org_of(self, authorization: str | None) -> str | None:
        """The organization whose key an Authorization header carries (in any scheme), or None."""
        if not authorization:
            return None
        for token in sorted(self.tokens, key=len, reverse=True):
            if token in authorization:
                return self.tokens[token]
        return None

    def may_send(self, method: str, authorization: str | None) -> bool:
        """False for a write with one of the run's keys in a ``--read-only`` run."""
        return not (
            self.read_only and method.upper() not in SAFE_METHODS and self.org_of(authorization) is not None
        )

    def sends_operation(self, method: str, template: str) -> bool:
        """Whether generated requests may exercise an operation (``PATCH``, ``/phone-numbers/{id}``)."""
        method = method.upper()
        if method in SAFE_METHODS:
            return True
        if self.read_only:
            return False
        return self.phone_writes or not template.startswith("/phone-numbers")

    def refusal(self, method: str, path: str, authorization: str | None) -> str | None:
        """Why the run must not send this request, or None when it may."""
        method = method.upper()
        if method in SAFE_METHODS or self.org_of(authorization) is None:
            return None
        if self.read_only:
            return f"{method} {path} has a side effect and the run is --read-only"
        match = _RESOURCE.match(path)
        if match is None:
            return None
        if match["kind"] == "phone-numbers":
            if self.phone_writes or not self.ledger.is_phone(match["id"]):
                return None  # an id no phone number has cannot change one
            return f"{method} {path} writes a phone number (--no-phone-writes)"
        if self.ledger.is_foreign(match["id"]):
            return f"{method} {path} names a trunk this run did not create"
        return None

    def swaps_id(self, method: str, path: str) -> bool:
        """Whether a generated request must go to an unknown id instead of the one in ``path``.

        A write to a trunk the run did not create; any method on a phone number other than
        the ``PATCH`` the run puts back (a ``DELETE`` the target wrongly obeyed could not
        be undone), and every one with ``--no-phone-writes``.
        """
        method = method.upper()
        match = _RESOURCE.match(path)
        if method in SAFE_METHODS or match is None:
            return False
        if match["kind"] == "sip-trunks":
            return self.ledger.is_foreign(match["id"])
        return method != "PATCH" or not self.phone_writes

    def before_write(self, method: str, path: str, authorization: str | None) -> None:
        """Note the phone number's link before the run first changes it, so it can be put back."""
        match = _RESOURCE.match(path)
        org = self.org_of(authorization)
        writes = method.upper() not in SAFE_METHODS
        if writes and match is not None and org is not None and match["kind"] == "phone-numbers":
            self.ledger.phone_written(org, match["id"])

    # -- pace and budget ------------------------------------------------------------------------

    def halt(self) -> None:
        """Ctrl-C: from now on ``admit`` raises ``Halted`` in every thread (the clean-up excepted)."""
        if not self.halted:
            self.halted_at = self.clock()
        self.halted = True

    def abandons_in_flight(self) -> bool:
        """Whether a request still in flight gives up: ``HALT_GRACE`` seconds after ``halt``.

        Answers that come within the grace are recorded (the ledger stays exact); a target
        that hangs cannot hold the run's way out. The cleanup's requests never give up here.
        """
        return (
            self.halted
            and not self.cleaning
            and self.halted_at is not None
            and self.clock() - self.halted_at >= HALT_GRACE
        )

    def admit(self) -> None:
        """Wait for the rate limit and any 429's Retry-After, then spend one request.

        ``BudgetExhausted`` when none is left. Thread-safe: each caller gets its own slot,
        so the rate, the budget and the waits hold for the whole run, whatever the threads.
        While a Ctrl-C, SIGTERM or spent budget unwinds this thread's stack, a suite's own
        ``finally`` sends nothing (the in-flight interrupt goes on): the engine's cleanup,
        under its deadline, undoes the run, and a target that hangs cannot hold the way out.
        """
        unwinding = sys.exc_info()[1]
        if isinstance(unwinding, KeyboardInterrupt) and not self.cleaning:
            raise unwinding
        with self._lock:
            if self.halted and not self.cleaning:
                raise Halted("interrupted")
            if not self.cleaning:
                self._check_budget()
            self.sent += 1
            now = self.clock()
            wait = self._resume_at - now
            if self.rate is not None:
                start = max(now, self._next_at, self._resume_at)
                wait = start - now
                self._next_at = start + 1.0 / self.rate
        if wait > 0:
            self.sleep(wait)

    def wait_out(self, retry_after: str | None, *, not_after: float | None = None) -> bool:
        """Wait as a 429 asks before retrying; False (no wait) when the caller should take the 429 as it is.

        Every thread waits until the latest 429's ``Retry-After`` (see ``admit``). The wall
        time those pauses add up to is bounded: outside the cleanup, ``Throttled`` once it
        would pass ``max_rate_limit_wait``, ``BudgetExhausted`` if the wait outlasts the time
        budget. The cleanup never raises: past either bound, or past ``not_after`` (its own
        deadline), it stops waiting and reports what is left.
        """
        delay = retry_after_seconds(retry_after)
        with self._lock:
            now = self.clock()
            resume_at = max(self._resume_at, now + delay)
            added = resume_at - max(self._resume_at, now)  # 8 lanes waiting the same second: 1 s
            over_wait = self.rate_limit_waited + added > self.max_rate_limit_wait
            if self.cleaning:
                if over_wait or (not_after is not None and now + delay > not_after):
                    return False
            elif over_wait:
                self.stopped = (
                    f"the target answered 429 (rate limited) for over {self.max_rate_limit_wait:g} s "
                    f"in all ({self.rate_limited + 1} times); "
                    "raise --max-rate-limit-wait, or slow the run with --rate-limit"
                )
                self.throttled = True
                raise Throttled(self.stopped)
            elif self.time_budget is not None and now + delay - self._started > self.time_budget:
                self._stop(f"--time-budget {self.time_budget:g}s spent (waiting out a 429)")
            self.rate_limited += 1
            self.rate_limit_waited += added
            self._resume_at = resume_at
        if delay > 0:
            self.sleep(delay)
        return True

    def _check_budget(self) -> None:
        if self.stopped is not None:
            raise BudgetExhausted(self.stopped)
        if self.max_requests is not None and self.sent >= self.max_requests:
            self._stop(f"--max-requests {self.max_requests} reached")
        if self.time_budget is not None and self.clock() - self._started >= self.time_budget:
            self._stop(f"--time-budget {self.time_budget:g}s spent")

    def _stop(self, reason: str) -> None:
        self.stopped = reason
        raise BudgetExhausted(reason)

    # -- after the answer -----------------------------------------------------------------------

    def observe(self, method: str, path: str, authorization: str | None, status: int, content: bytes) -> None:
        """Tell the ledger about a created trunk, a listed one, or phone numbers as first seen.

        Called with every answer, a ``429`` about to be waited out included.
        """
        if self.on_answer is not None:
            self.on_answer(method, path, status)
        path = path.split("?", 1)[0].rstrip("/")
        method = method.upper()
        match = _RESOURCE.match(path)
        if method == "DELETE" and status in (204, 404) and match is not None:
            if match["kind"] == "sip-trunks":
                self.ledger.deleted(unquote(match["id"]))
            return
        if method not in ("POST", "GET") or status not in (200, 201) or not content:
            return
        if path not in ("/sip-trunks", "/phone-numbers"):
            return
        org = self.org_of(authorization)
        if org is None:
            return
        try:
            body = json.loads(content)
        except ValueError:
            return
        if not isinstance(body, dict):
            return
        if method == "POST" and path == "/sip-trunks" and status == 201:
            trunk_id = body.get("id")
            if isinstance(trunk_id, str):
                self.ledger.created(org, trunk_id, str(body.get("name", "")))
        elif method == "GET" and status == 200:
            key = "trunks" if path == "/sip-trunks" else "phone_numbers"
            items = body.get(key)
            if isinstance(items, list):
                found = [item for item in items if isinstance(item, dict)]
                if key == "trunks":
                    self.ledger.listed(org, found)
                else:
                    self.ledger.phones(org, found)
