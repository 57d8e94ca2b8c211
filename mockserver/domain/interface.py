"""The store every handler awaits, as an interface: one process's memory, or a store replicas share.

Handlers await these methods; ``mockserver.domain.memory.MemoryStore`` serves them from a
``Store`` in this process, ``mockserver.redis_store.RedisStore`` from Redis for several
replicas. Both raise the same ``mockserver.domain.errors`` and keep the same rules (tenancy,
the cascade, the trunk cap, references), each rule applied atomically; a shared store that
cannot be reached raises ``StoreUnavailable``. ``tests/mock/test_store_contract.py`` runs one
suite against both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from mockserver.domain.models import PhoneNumber, Trunk
from mockserver.domain.store import OrganizationSnapshot

__all__ = ["StateStore"]


@runtime_checkable
class StateStore(Protocol):
    """Organizations by API key, their trunks, phone numbers and the vault of passwords."""

    @property
    def max_trunks(self) -> int:
        """The trunk cap of every organization."""
        ...

    async def list_trunks(self, token: str) -> list[Trunk]:
        """The organization's trunks, oldest first (by ``created_at``, then ``id``)."""
        ...

    async def create_trunk(
        self, token: str, *, name: str, host: str, username: str, password: str, port: int | None = None
    ) -> Trunk:
        """Create a trunk (port defaults to 5060), its password into the vault; ``TrunkLimitReached``."""
        ...

    async def get_trunk(self, token: str, trunk_id: str) -> Trunk:
        """The organization's trunk ``trunk_id``, or ``TrunkNotFound``."""
        ...

    async def delete_trunk(self, token: str, trunk_id: str) -> None:
        """Delete a trunk, its secret and every link to it, in one step; ``TrunkNotFound``."""
        ...

    async def list_phone_numbers(self, token: str) -> list[PhoneNumber]:
        """The organization's phone numbers, oldest first."""
        ...

    async def get_phone_number(self, token: str, number_id: str) -> PhoneNumber:
        """The organization's phone number ``number_id``, or ``PhoneNumberNotFound``."""
        ...

    async def update_phone_number(
        self, token: str, number_id: str, *, transfer_trunk_id: str | None
    ) -> PhoneNumber:
        """Point a number at one of the organization's trunks (checked in the same step), or at none."""
        ...

    async def verify_password(self, trunk_id: str, candidate: str) -> bool:
        """Whether ``candidate`` is the trunk's password (the vault is never read back)."""
        ...

    async def stats(self) -> dict[str, int]:
        """How many organizations, trunks and phone numbers the store holds."""
        ...

    async def reset(self, token: str | None = None) -> None:
        """Back to the baseline (the seed): for every organization, or only ``token``'s."""
        ...

    async def snapshot(self) -> list[OrganizationSnapshot]:
        """Every organization as it is now (API key, trunks, phone numbers, in no order); never passwords."""
        ...

    async def export_state(self) -> dict[str, Any]:
        """Every organization by API key with its trunks and phone numbers; never passwords."""
        ...

    async def import_state(self, state: Mapping[str, Any]) -> None:
        """Replace the whole state (a validated state document); ``InvalidState`` changes nothing."""
        ...

    async def aclose(self) -> None:
        """Release connections (nothing for the memory store)."""
        ...
