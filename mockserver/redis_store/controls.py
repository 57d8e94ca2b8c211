"""The controls replicas share in Redis: faults and their counters, the rate-limit buckets, the journal.

One ``gate`` script per product request takes the request from its organization's token
bucket (Redis's clock, so the limit is global) and decides the faults, counting them
(``times=2`` is two requests in total, whichever replica serves them). Journal entries are
written after the answer, in batches: one script call for every entry recorded while the
previous call was on its way; reading the journal first waits for this replica's batch.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

from mockserver.controls.fault_table import MAX_FAULTS, Catalog, Decision, Fault
from mockserver.controls.faults import FaultNotFound, FaultSpec, InvalidFault
from mockserver.controls.journal import Entry, iter_rendered
from mockserver.controls.panel import NOTHING, Admission
from mockserver.controls.rate_limit import RateLimit, verdict
from mockserver.domain.errors import StoreUnavailable
from mockserver.domain.models import org_key
from mockserver.redis_store.connection import RedisError
from mockserver.redis_store.shared import Shared, fault_fields

__all__ = ["RedisControls"]

logger = logging.getLogger("mockserver.redis_store")

MAX_BATCH = 500  # journal entries per script call
WARN_EVERY = 10.0  # seconds between two warnings about journal entries lost

_dumps = json.JSONEncoder(separators=(",", ":")).encode


@functools.lru_cache(maxsize=256)
def _spec(text: str) -> FaultSpec:
    return FaultSpec.from_json(json.loads(text))


def _rate(requests: str, seconds: str) -> RateLimit:
    return RateLimit(int(requests), float(seconds))


class RedisControls:
    """A ``ControlPanel`` whose faults, rate limit and journal every replica on the same Redis shares."""

    def __init__(
        self,
        shared: Shared,
        catalog: Catalog,
        secret_fields: frozenset[str],
        *,
        journal_size: int,
        fault_seed: int = 0,
        accepts_any_key: bool = True,
    ) -> None:
        self.shared = shared
        self.accepts_any_key = accepts_any_key
        self.catalog = catalog
        self.secret_fields = secret_fields
        self.journal_size = journal_size
        self.fault_seed = fault_seed
        self._seed = str(fault_seed)
        self._pending: list[str] = []
        self._flushing: asyncio.Task[None] | None = None
        self._warned_at = 0.0

    def __repr__(self) -> str:
        return f"<RedisControls {self.shared.label}>"

    @property
    def intercepts(self) -> bool:
        """Always: whether a fault or a limit is in force is known only to Redis."""
        return True

    def gate_args(self, method: str, path: str, org: str | None) -> tuple[str, str, str, str]:
        """The ``gate`` function's arguments for one request."""
        return method, self.catalog.template(path) or "", org or "", self._seed

    async def admit(self, method: str, path: str, org: str | None) -> Admission:
        """See ``ControlPanel.admit``: one script, the bucket then the faults."""
        return self.admission(await self._run("gate", *self.gate_args(method, path, org)))

    def defer(self, method: str, path: str, org: str | None) -> RedisDeferred:
        """See ``ControlPanel.defer``: the store's script decides it, in the same round trip."""
        return RedisDeferred(self, self.gate_args(method, path, org))

    def admission(self, gate: list[str]) -> Admission:
        """The admission a ``gate`` reply says."""
        flag, tokens, requests, seconds, decided, spec, delay, *fired = gate
        limit = taken = None
        if flag:
            limit = _rate(requests, seconds)
            taken = verdict(limit, float(tokens), flag == "1")
            if not taken.allowed:
                return Admission(taken, limit)
        if not fired:
            return NOTHING if taken is None else Admission(taken, limit)
        fault = Fault(decided, _spec(spec), frozenset(), self.fault_seed) if decided else None
        return Admission(taken, limit, Decision(float(delay) / 1000, fault, tuple(fired)))

    # Journal ------------------------------------------------------------------------------

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
        """See ``ControlPanel.record``: queued, written by the next batch."""
        self._pending.append(
            _dumps(
                [
                    started,
                    method,
                    path,
                    status,
                    duration_ms,
                    org,
                    request_body.decode("latin-1"),
                    response_body.decode("latin-1"),
                    list(faults),
                ]
            )
        )
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    await self.shared.run("journal_append", str(self.journal_size), *batch)
                except (StoreUnavailable, RedisError) as exc:
                    now = time.monotonic()
                    if now - self._warned_at > WARN_EVERY:
                        self._warned_at = now
                        logger.warning("%d journal entries lost: %s", len(batch), exc)
        finally:
            self._flushing = None

    async def _flushed(self) -> None:
        flushing = self._flushing
        if flushing is not None:
            await asyncio.shield(flushing)

    async def iter_requests(
        self, org: str | None, method: str | None, path: str | None
    ) -> Iterator[dict[str, Any] | None]:
        """See ``ControlPanel.iter_requests``: this replica's batch written first, then one read."""
        await self._flushed()
        snapshot: list[Entry] = []
        for text in await self._run("journal_read"):
            entry = json.loads(text)
            entry[7] = entry[7].encode("latin-1")  # the bodies' bytes, as recorded
            entry[8] = entry[8].encode("latin-1")
            entry[9] = tuple(entry[9])
            snapshot.append(tuple(entry))
        return iter_rendered(snapshot, self.secret_fields, org=org, method=method, path=path)

    async def clear_requests(self) -> None:
        """See ``ControlPanel.clear_requests``."""
        await self._flushed()
        await self._run("journal_clear", "")

    # Faults -------------------------------------------------------------------------------

    async def faults_json(self) -> list[dict[str, Any]]:
        """See ``ControlPanel.faults_json``."""
        faults = []
        for fault_id, spec, org, hits, remaining in await self._run("fault_list"):
            body = {key: value for key, value in json.loads(spec).items() if key != "token"}
            left = int(remaining)
            remains = None if left < 0 else left
            faults.append(
                {"id": fault_id, **body, "org": org or None, "hits": int(hits), "remaining": remains}
            )
        return faults

    async def add_fault(self, spec: FaultSpec) -> dict[str, Any]:
        """See ``ControlPanel.add_fault``."""
        self.catalog.resolve(spec)
        try:
            fault_id = await self._run("fault_add", _dumps(fault_fields(spec)), str(MAX_FAULTS))
        except RedisError:
            raise InvalidFault(f"at most {MAX_FAULTS} faults at once; DELETE /__admin/faults first") from None
        body = {key: value for key, value in spec.to_json().items() if key != "token"}
        return {"id": fault_id, **body, "org": spec.org, "hits": 0, "remaining": spec.times}

    async def remove_fault(self, fault_id: str) -> None:
        """See ``ControlPanel.remove_fault``."""
        try:
            await self._run("fault_remove", fault_id)
        except RedisError:
            raise FaultNotFound() from None

    async def clear_faults(self, token: str | None) -> None:
        """See ``ControlPanel.clear_faults``."""
        await self._run("fault_clear", "" if token is None else org_key(token))

    # Rate limit and reset -----------------------------------------------------------------

    async def rate_limit(self) -> RateLimit | None:
        """See ``ControlPanel.rate_limit``."""
        requests, seconds = await self._run("rate_get")
        return None if requests is None else _rate(requests, seconds)

    async def set_rate_limit(self, limit: RateLimit | None) -> None:
        """See ``ControlPanel.set_rate_limit``."""
        if limit is None:
            await self._run("rate_set", "", "")
        else:
            await self._run("rate_set", str(limit.requests), repr(float(limit.seconds)))

    async def reset(self, token: str | None = None) -> None:
        """See ``ControlPanel.reset``."""
        await self._flushed()
        await self._run("controls_reset", "" if token is None else org_key(token))

    async def aclose(self) -> None:
        """Write the journal entries still queued."""
        await self._flushed()

    async def _run(self, name: str, *args: Any) -> Any:
        return await self.shared.run(name, *args)


class RedisDeferred:
    """The admission of one request, decided by the store's gated script, or else by ``resolve()``."""

    __slots__ = ("admission", "args", "controls", "slept")

    def __init__(self, controls: RedisControls, args: tuple[str, str, str, str]) -> None:
        self.controls = controls
        self.args = args
        self.admission: Admission | None = None
        self.slept = False

    def settle(self, gate: list[str]) -> Admission:
        """Record the decision a gated script returned."""
        self.admission = self.controls.admission(gate)
        return self.admission

    async def resolve(self) -> Admission:
        """See ``Deferred.resolve``."""
        if self.admission is None:
            self.admission = self.controls.admission(await self.controls._run("gate", *self.args))
        return self.admission
