"""A plain-Python model of one organization's trunks and phone numbers, as the contract defines them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_PORT", "OrgModel", "TrunkInput"]

DEFAULT_PORT = 5060
TRUNK_FIELDS = frozenset({"id", "name", "host", "port", "username", "created_at"})


@dataclass(frozen=True)
class TrunkInput:
    """The body of a create, without the password (the run makes a fresh one for each create)."""

    name: str
    host: str
    username: str
    port: int | None = None

    def body(self, password: str) -> dict[str, Any]:
        """The JSON body to send; no ``port`` key when the port is left to its default."""
        body: dict[str, Any] = {"name": self.name, "host": self.host, "username": self.username}
        if self.port is not None:
            body["port"] = self.port
        body["password"] = password
        return body

    def expected(self) -> dict[str, Any]:
        """What the trunk must look like, apart from ``id`` and ``created_at``."""
        port = DEFAULT_PORT if self.port is None else self.port
        return {"name": self.name, "host": self.host, "port": port, "username": self.username}


@dataclass
class OrgModel:
    """What the target should hold for the trunks and phone numbers this run touched."""

    # id -> the trunk exactly as the create returned it.
    trunks: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Every id this run created, deleted ones included: the list is compared on these only.
    created: set[str] = field(default_factory=set)
    deleted: list[str] = field(default_factory=list)
    # phone number id -> transfer_trunk_id, for every phone number of the account.
    phones: dict[str, str | None] = field(default_factory=dict)
    # The same, as found when the run started, to put back at the end.
    initial_phones: dict[str, str | None] = field(default_factory=dict)
    # Trunks created since the invariants last read them back.
    unread: list[str] = field(default_factory=list)

    def start(self, phones: dict[str, str | None]) -> None:
        self.phones = dict(phones)
        self.initial_phones = dict(phones)

    def add(self, trunk: dict[str, Any]) -> None:
        self.trunks[trunk["id"]] = trunk
        self.created.add(trunk["id"])
        self.unread.append(trunk["id"])

    def take_unread(self) -> list[str]:
        """The live trunks created since the last call, oldest first."""
        unread, self.unread = [trunk_id for trunk_id in self.unread if trunk_id in self.trunks], []
        return unread

    def delete(self, trunk_id: str) -> list[str]:
        """Remove a trunk; clear the phone numbers that used it (the cascade) and return them."""
        del self.trunks[trunk_id]
        self.deleted.append(trunk_id)
        cleared = [phone for phone, linked in self.phones.items() if linked == trunk_id]
        for phone in cleared:
            self.phones[phone] = None
        return cleared

    def link(self, phone_id: str, trunk_id: str | None) -> None:
        self.phones[phone_id] = trunk_id

    def listed(self) -> list[dict[str, Any]]:
        """The trunks as the list must show them: oldest first, by ``created_at`` then ``id``."""
        return sorted(self.trunks.values(), key=lambda trunk: (trunk["created_at"], trunk["id"]))

    def restricted(self, listed: list[Any]) -> list[Any]:
        """The items of a list answer that are trunks this run created (the account may hold others)."""
        return [
            item
            for item in listed
            if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"] in self.created
        ]
