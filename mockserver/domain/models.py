"""The records the store holds: trunks, phone numbers, organizations, and how their fields are made."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "DEMO_CREATED_AT",
    "DEMO_NUMBERS",
    "Organization",
    "PhoneNumber",
    "Trunk",
    "demo_phone_numbers",
    "format_timestamp",
    "org_key",
]

DEMO_NUMBERS = 3
DEMO_CREATED_AT = "2025-01-01T00:00:00.000Z"
_DEMO_NAMESPACE = uuid.UUID("6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f")


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds: ``2025-12-13T10:00:00.000Z``."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def org_key(token: str) -> str:
    """A short, stable, non-reversible id for the organization of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Trunk:
    """A SIP trunk as the API shows it (the password lives in the vault, not here)."""

    id: str
    name: str
    host: str
    port: int
    username: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this trunk."""
        return {
            "id": self.id,
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A phone number, with the trunk it uses for transfers (or None)."""

    id: str
    number: str
    transfer_trunk_id: str | None
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this phone number."""
        return {
            "id": self.id,
            "number": self.number,
            "transfer_trunk_id": self.transfer_trunk_id,
            "created_at": self.created_at,
        }


@dataclass(slots=True)
class Organization:
    """The trunks and phone numbers seen by one API key."""

    id: str
    trunks: dict[str, Trunk] = field(default_factory=dict)
    phone_numbers: dict[str, PhoneNumber] = field(default_factory=dict)

    def copy(self) -> Organization:
        """A copy whose dicts can change independently (the items are immutable)."""
        return Organization(self.id, dict(self.trunks), dict(self.phone_numbers))


def demo_phone_numbers(token: str) -> list[PhoneNumber]:
    """The phone numbers a new organization starts with: the same for the same token."""
    digest = int(hashlib.sha256(token.encode("utf-8")).hexdigest()[:8], 16)
    first = digest % (10_000 - DEMO_NUMBERS)
    return [
        PhoneNumber(
            id=str(uuid.uuid5(_DEMO_NAMESPACE, f"{token}\x00phone-number\x00{index}")),
            number=f"+1415555{first + index:04d}",
            transfer_trunk_id=None,
            created_at=DEMO_CREATED_AT,
        )
        for index in range(DEMO_NUMBERS)
    ]
