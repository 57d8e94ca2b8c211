"""The ``StateStore`` replicas share: organizations, trunks, numbers and the vault in Redis, in Lua scripts.

One request is one script, so one round trip: the organization is created with its demo
numbers on first use inside the same script, the trunk cap is checked where the trunk is
written, the delete and its cascade (secret, links) are one step, and a link is checked
against the trunks where it is written. Two replicas deleting and linking at once can
therefore never leave a number pointing at a deleted trunk.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from mockserver.controls.panel import PENDING, Intercepted
from mockserver.domain.errors import (
    PhoneNumberNotFound,
    TrunkLimitReached,
    TrunkNotFound,
    UnknownTransferTrunk,
)
from mockserver.domain.models import PhoneNumber, Trunk, format_timestamp
from mockserver.domain.store import DEFAULT_PORT, OrganizationSnapshot, build_state
from mockserver.redis_store.connection import RedisError
from mockserver.redis_store.controls import RedisDeferred
from mockserver.redis_store.records import (
    demo_args,
    dump_state,
    dump_trunk,
    load_number,
    load_numbers,
    load_trunk,
    load_trunks,
    org_args,
    secret,
)
from mockserver.redis_store.shared import Shared

__all__ = ["RedisStore"]

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _uuid4() -> str:
    return str(uuid.uuid4())


class RedisStore:
    """A ``StateStore`` whose state lives in Redis, shared by every replica started on it."""

    def __init__(
        self, shared: Shared, *, clock: Clock = _utc_now, new_id: Callable[[], str] = _uuid4
    ) -> None:
        self.shared = shared
        self.max_trunks = shared.spec.max_trunks
        self._clock = clock
        self._new_id = new_id

    def __repr__(self) -> str:
        return f"<RedisStore {self.shared.label} max_trunks={self.max_trunks}>"

    async def _org_call(self, name: str, token: str, *args: Any) -> Any:
        h, stored = org_args(token)
        arguments = (h, stored, *args, *demo_args(token))
        pending = PENDING.get(None)
        if isinstance(pending, RedisDeferred) and pending.admission is None:
            # The request's admission is decided by the same script, before the operation.
            try:
                tag, result, *gate = await self.shared.run(f"gated_{name}", *pending.args, *arguments)
            except RedisError as exc:
                raise self._refusal(exc) from None
            admission = pending.settle(gate)
            if tag == "OK":
                return result
            if tag == "E":
                raise self._refusal(RedisError(result))
            if admission.intercepts:
                raise Intercepted()
            if admission.decision is not None:  # only delayed: wait, then run the operation alone
                await asyncio.sleep(admission.decision.delay)
            pending.slept = True
        try:
            return await self.shared.run(name, *arguments)
        except RedisError as exc:
            raise self._refusal(exc) from None

    def _refusal(self, exc: RedisError) -> Exception:
        code = exc.code
        if code == "NO_TRUNK":
            return TrunkNotFound()
        if code == "NO_NUMBER":
            return PhoneNumberNotFound()
        if code == "UNKNOWN_TRUNK":
            return UnknownTransferTrunk()
        if code == "LIMIT":
            return TrunkLimitReached(self.max_trunks)
        return exc

    # Trunks ---------------------------------------------------------------------------

    async def list_trunks(self, token: str) -> list[Trunk]:
        """See ``StateStore.list_trunks``."""
        return load_trunks(await self._org_call("list_trunks", token))

    async def create_trunk(
        self, token: str, *, name: str, host: str, username: str, password: str, port: int | None = None
    ) -> Trunk:
        """See ``StateStore.create_trunk``."""
        trunk = Trunk(
            id=self._new_id(),
            name=name,
            host=host,
            port=DEFAULT_PORT if port is None else port,
            username=username,
            created_at=format_timestamp(self._clock()),
        )
        await self._org_call(
            "create_trunk", token, str(self.max_trunks), trunk.id, dump_trunk(trunk), secret(password)
        )
        return trunk

    async def get_trunk(self, token: str, trunk_id: str) -> Trunk:
        """See ``StateStore.get_trunk``."""
        return load_trunk(trunk_id, await self._org_call("get_trunk", token, trunk_id))

    async def delete_trunk(self, token: str, trunk_id: str) -> None:
        """See ``StateStore.delete_trunk``."""
        await self._org_call("delete_trunk", token, trunk_id)

    # Phone numbers --------------------------------------------------------------------

    async def list_phone_numbers(self, token: str) -> list[PhoneNumber]:
        """See ``StateStore.list_phone_numbers``."""
        records, links = await self._org_call("list_numbers", token)
        return load_numbers(records, links)

    async def get_phone_number(self, token: str, number_id: str) -> PhoneNumber:
        """See ``StateStore.get_phone_number``."""
        record, link = await self._org_call("get_number", token, number_id)
        return load_number(number_id, record, link)

    async def update_phone_number(
        self, token: str, number_id: str, *, transfer_trunk_id: str | None
    ) -> PhoneNumber:
        """See ``StateStore.update_phone_number``."""
        record = await self._org_call("update_number", token, number_id, transfer_trunk_id or "")
        return load_number(number_id, record, transfer_trunk_id)

    async def verify_password(self, trunk_id: str, candidate: str) -> bool:
        """See ``StateStore.verify_password`` (compared inside Redis: the password never comes back)."""
        return bool(await self.shared.run("verify", trunk_id, secret(candidate)))

    # Whole state ----------------------------------------------------------------------

    async def stats(self) -> dict[str, int]:
        """See ``StateStore.stats``."""
        organizations, trunks, numbers = await self.shared.run("stats")
        return {"organizations": organizations, "trunks": trunks, "phone_numbers": numbers}

    async def reset(self, token: str | None = None) -> None:
        """See ``StateStore.reset``."""
        await self.shared.run("reset", "" if token is None else org_args(token)[0])

    async def snapshot(self) -> list[OrganizationSnapshot]:
        """See ``StateStore.snapshot`` (one script: a consistent snapshot)."""
        return [
            (json.loads(stored), load_trunks(trunks), load_numbers(records, links))
            for stored, trunks, records, links in await self.shared.run("export")
        ]

    async def export_state(self) -> dict[str, Any]:
        """See ``StateStore.export_state``."""
        return {
            "organizations": {
                token: {
                    "trunks": [trunk.to_dict() for trunk in trunks],
                    "phone_numbers": [number.to_dict() for number in numbers],
                }
                for token, trunks, numbers in await self.snapshot()
            }
        }

    async def import_state(self, state: Mapping[str, Any]) -> None:
        """See ``StateStore.import_state`` (checked here, then written by one script)."""
        spec = self.shared.spec
        built, secrets = build_state(
            state,
            max_trunks=self.max_trunks,
            now=format_timestamp(self._clock()),
            new_id=self._new_id,
            max_organizations=spec.max_orgs,
            uncounted=(*spec.keep, *spec.organizations),  # allowed keys and the seed's: never counted
        )
        await self.shared.run("replace_state", dump_state(built, secrets))

    async def mark_baseline(self) -> None:
        """Make the current state the one ``reset()`` returns to."""
        await self.shared.run("mark_baseline")

    async def start(self) -> None:
        """Reach Redis and initialize the state, or join the one there; then close (serving reconnects)."""
        try:
            await self.shared.initialize()
        finally:
            await self.shared.connection.aclose()

    async def aclose(self) -> None:
        """Close the connection (shared with the controls)."""
        await self.shared.connection.aclose()
