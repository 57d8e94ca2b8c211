"""The controls' API that the middleware and the admin handlers await, and its in-process implementation.

``ControlPanel`` is what both implementations offer: ``Controls`` (this process's fault
table, rate limiter and journal) and ``mockserver.redis_store.RedisControls`` (the same,
shared by replicas through Redis). Standard library only.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from mockserver.controls.fault_table import Decision, FaultTable
from mockserver.controls.faults import FaultSpec
from mockserver.controls.journal import Journal
from mockserver.controls.rate_limit import RateLimit, RateLimiter, Verdict
from mockserver.domain.errors import DomainError
from mockserver.domain.models import org_key

__all__ = ["PENDING", "Admission", "ControlPanel", "Controls", "Deferred", "Intercepted"]


@dataclass(frozen=True, slots=True)
class Admission:
    """What the controls say about one product request before the app sees it."""

    verdict: Verdict | None = None  # None: no rate limit in force
    rate: RateLimit | None = None  # the limit the verdict was taken under
    decision: Decision | None = None  # None: no fault applies

    @property
    def intercepts(self) -> bool:
        """Whether the controls answer instead of the app (a refusal, or a fault with a status or a drop)."""
        refused = self.verdict is not None and not self.verdict.allowed
        return refused or (self.decision is not None and self.decision.fault is not None)


NOTHING = Admission()


class Deferred(Protocol):
    """An admission not decided yet: the store decides it with its operation, else ``resolve()`` does."""

    admission: Admission | None  # None until decided
    slept: bool  # whether the delay of the faults was already waited

    async def resolve(self) -> Admission:
        """Decide now if nobody did (one call to the controls), and return the admission."""
        ...


PENDING: contextvars.ContextVar[Deferred | None] = contextvars.ContextVar("mockserver_pending_admission")
"""The admission of the request being served, while its decision is deferred (see ``ControlPanel.defer``)."""


class Intercepted(DomainError):
    """The controls answer this request (429, a fault): the store applied nothing; the answer is replaced."""

    def __init__(self) -> None:
        super().__init__("Answered by the mock's controls")


class ControlPanel(Protocol):
    """Faults, the rate limit and the journal, as the middleware and the admin API use them."""

    journal_size: int  # 0: the journal is off
    accepts_any_key: bool  # any non-empty key is an organization (no --token): /__admin/health says so

    @property
    def intercepts(self) -> bool:
        """Whether requests must go through ``admit`` and ``record`` (False: nothing is on)."""
        ...

    async def admit(self, method: str, path: str, org: str | None) -> Admission:
        """Take the request from its organization's bucket, then decide the faults (and count them)."""
        ...

    def defer(self, method: str, path: str, org: str | None) -> Deferred | None:
        """An admission decided later, in the same round trip as the store's operation; None: call ``admit``.

        The middleware serves the request with the deferred admission in ``PENDING``; a store
        that sees it decides it with its operation, and applies the operation only if the
        request is neither refused nor faulted (``Intercepted`` otherwise). Whatever the app
        answers, the middleware replaces the answer when the admission says so.
        """
        ...

    def record(
        self,
        *,
        started: float,
        method: str,
        path: str,
        status: int | None,
        duration_ms: float,
        org: str | None,
        request_body: bytes = b"",
        response_body: bytes = b"",
        faults: tuple[str, ...] = (),
    ) -> None:
        """Journal one request (see ``Journal.record``); never blocks the answer."""
        ...

    async def faults_json(self) -> list[dict[str, Any]]:
        """The faults in force, as ``GET /__admin/faults`` shows them."""
        ...

    async def add_fault(self, spec: FaultSpec) -> dict[str, Any]:
        """Add a fault after the others; ``InvalidFault`` if it cannot be injected or too many."""
        ...

    async def remove_fault(self, fault_id: str) -> None:
        """Remove one fault, or ``FaultNotFound``."""
        ...

    async def clear_faults(self, token: str | None) -> None:
        """Remove every fault, or those scoped to ``token``'s organization."""
        ...

    async def iter_requests(
        self, org: str | None, method: str | None, path: str | None
    ) -> Iterator[dict[str, Any] | None]:
        """The journal as it is now, oldest first, filtered, secrets masked; lazily (``None``: a pause)."""
        ...

    async def clear_requests(self) -> None:
        """Empty the journal."""
        ...

    async def rate_limit(self) -> RateLimit | None:
        """The rate limit in force."""
        ...

    async def set_rate_limit(self, limit: RateLimit | None) -> None:
        """Change the rate limit (None: off); every bucket starts full."""
        ...

    async def reset(self, token: str | None = None) -> None:
        """Back to the start: faults, rate limit and buckets, empty journal (for all, or one organization)."""
        ...

    async def aclose(self) -> None:
        """Write what is pending and release connections."""
        ...


class Controls:
    """The journal, rate limiter and fault table of one app, in this process."""

    def __init__(
        self,
        faults: FaultTable,
        limiter: RateLimiter,
        journal: Journal | None,
        rate_limit: RateLimit | None = None,
        *,
        accepts_any_key: bool = True,
    ) -> None:
        self.faults = faults
        self.limiter = limiter
        self.journal = journal
        self.journal_size = 0 if journal is None else journal.size
        self.rate_limit_at_start = rate_limit  # what reset() restores
        self.accepts_any_key = accepts_any_key

    def __repr__(self) -> str:
        return f"<Controls: {len(self.faults)} faults, rate limit {self.limiter.limit}, {self.journal!r}>"

    @property
    def intercepts(self) -> bool:
        """See ``ControlPanel.intercepts``."""
        return self.journal is not None or self.limiter.limit is not None or bool(self.faults)

    async def admit(self, method: str, path: str, org: str | None) -> Admission:
        """See ``ControlPanel.admit``."""
        limit = self.limiter.limit
        verdict = None
        if limit is not None:
            verdict = self.limiter.take(org or "-")
            if not verdict.allowed:
                return Admission(verdict, limit)
        decision = self.faults.decide(method, path, org) if self.faults else None
        if verdict is None and decision is None:
            return NOTHING
        return Admission(verdict, limit, decision)

    def defer(self, method: str, path: str, org: str | None) -> Deferred | None:
        """Never: deciding in process costs nothing (see ``ControlPanel.defer``)."""
        return None

    def record(
        self,
        *,
        started: float,
        method: str,
        path: str,
        status: int | None,
        duration_ms: float,
        org: str | None,
        request_body: bytes = b"",
        response_body: bytes = b"",
        faults: tuple[str, ...] = (),
    ) -> None:
        """See ``ControlPanel.record``."""
        if self.journal is not None:
            self.journal.record(
                started=started,
                method=method,
                path=path,
                status=status,
                duration_ms=duration_ms,
                org=org,
                request_body=request_body,
                response_body=response_body,
                faults=faults,
            )

    async def faults_json(self) -> list[dict[str, Any]]:
        """See ``ControlPanel.faults_json``."""
        return [fault.to_json() for fault in self.faults]

    async def add_fault(self, spec: FaultSpec) -> dict[str, Any]:
        """See ``ControlPanel.add_fault``."""
        return self.faults.add(spec).to_json()

    async def remove_fault(self, fault_id: str) -> None:
        """See ``ControlPanel.remove_fault``."""
        self.faults.remove(fault_id)

    async def clear_faults(self, token: str | None) -> None:
        """See ``ControlPanel.clear_faults``."""
        self.faults.clear(token)

    async def iter_requests(
        self, org: str | None, method: str | None, path: str | None
    ) -> Iterator[dict[str, Any] | None]:
        """See ``ControlPanel.iter_requests``."""
        if self.journal is None:
            return iter(())
        return self.journal.iter_entries(org=org, method=method, path=path)

    async def clear_requests(self) -> None:
        """See ``ControlPanel.clear_requests``."""
        if self.journal is not None:
            self.journal.clear()

    async def rate_limit(self) -> RateLimit | None:
        """See ``ControlPanel.rate_limit``."""
        return self.limiter.limit

    async def set_rate_limit(self, limit: RateLimit | None) -> None:
        """See ``ControlPanel.set_rate_limit``."""
        self.limiter.limit = limit

    async def reset(self, token: str | None = None) -> None:
        """See ``ControlPanel.reset``."""
        self.faults.reset(token)
        if token is None:
            self.limiter.limit = self.rate_limit_at_start
        else:
            self.limiter.reset(org_key(token))
        if self.journal is not None:
            self.journal.clear(None if token is None else org_key(token))

    async def aclose(self) -> None:
        """Nothing to release."""
