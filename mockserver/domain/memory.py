"""The in-memory ``StateStore``: the async interface over one process's ``Store``, at the cost of a coroutine.

``Store`` stays synchronous: each of its methods runs to completion on the event loop, which
is what makes a delete and its cascade one step. This adapter only awaits nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.domain.models import PhoneNumber, Trunk
from mockserver.domain.store import OrganizationSnapshot, Store

__all__ = ["MemoryStore"]


class MemoryStore:
    """A ``StateStore`` whose state is ``store``, in this process."""

    __slots__ = ("store",)

    def __init__(self, store: Store | None = None) -> None:
        self.store = store if store is not None else Store()

    def __repr__(self) -> str:
        return f"<MemoryStore {self.store!r}>"

    @property
    def max_trunks(self) -> int:
        """The trunk cap of every organization."""
        return self.store.max_trunks

    async def list_trunks(self, token: str) -> list[Trunk]:
        """See ``StateStore.list_trunks``."""
        return self.store.list_trunks(token)

    async def create_trunk(
        self, token: str, *, name: str, host: str, username: str, password: str, port: int | None = None
    ) -> Trunk:
        """See ``StateStore.create_trunk``."""
        return self.store.create_trunk(
            token, name=name, host=host, username=username, password=password, port=port
        )

    async def get_trunk(self, token: str, trunk_id: str) -> Trunk:
        """See ``StateStore.get_trunk``."""
        return self.store.get_trunk(token, trunk_id)

    async def delete_trunk(self, token: str, trunk_id: str) -> None:
        """See ``StateStore.delete_trunk``."""
        self.store.delete_trunk(token, trunk_id)

    async def list_phone_numbers(self, token: str) -> list[PhoneNumber]:
        """See ``StateStore.list_phone_numbers``."""
        return self.store.list_phone_numbers(token)

    async def get_phone_number(self, token: str, number_id: str) -> PhoneNumber:
        """See ``StateStore.get_phone_number``."""
        return self.store.get_phone_number(token, number_id)

    async def update_phone_number(
        self, token: str, number_id: str, *, transfer_trunk_id: str | None
    ) -> PhoneNumber:
        """See ``StateStore.update_phone_number``."""
        return self.store.update_phone_number(token, number_id, transfer_trunk_id=transfer_trunk_id)

    async def verify_password(self, trunk_id: str, candidate: str) -> bool:
        """See ``StateStore.verify_password``."""
        return self.store.vault.verify(trunk_id, candidate)

    async def stats(self) -> dict[str, int]:
        """See ``StateStore.stats``."""
        return self.store.stats()

    async def reset(self, token: str | None = None) -> None:
        """See ``StateStore.reset``."""
        self.store.reset(token)

    async def snapshot(self) -> list[OrganizationSnapshot]:
        """See ``StateStore.snapshot``."""
        return self.store.snapshot()

    async def export_state(self) -> dict[str, Any]:
        """See ``StateStore.export_state``."""
        return self.store.export_state()

    async def import_state(self, state: Mapping[str, Any]) -> None:
        """See ``StateStore.import_state``."""
        self.store.import_state(state)

    async def aclose(self) -> None:
        """Nothing to release."""
