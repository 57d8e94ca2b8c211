"""The in-memory domain of the mock: organizations by API key, their trunks and phone numbers (stdlib only).

Every method runs to completion without awaiting, so on the server's single event loop each
one is atomic: a delete and its cascade are one step. Rules the spec cannot express (tenancy,
the cascade, the trunk cap, references) live here and raise ``mockserver.errors``.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from mockserver.errors import (
    DomainError,
    InvalidState,
    NotFound,
    PhoneNumberNotFound,
    TrunkLimitReached,
    TrunkNotFound,
    UnknownTransferTrunk,
)
from mockserver.models import Organization, PhoneNumber, Trunk, demo_phone_numbers, format_timestamp, org_key
from mockserver.vault import Vault

__all__ = [
    "DEFAULT_MAX_TRUNKS",
    "DEFAULT_PORT",
    "DomainError",
    "InvalidState",
    "NotFound",
    "PhoneNumberNotFound",
    "Store",
    "TrunkLimitReached",
    "TrunkNotFound",
    "UnknownTransferTrunk",
]

DEFAULT_PORT = 5060
DEFAULT_MAX_TRUNKS = 1000

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _uuid4() -> str:
    return str(uuid.uuid4())


def _oldest_first(item: Trunk | PhoneNumber) -> tuple[str, str]:
    return (item.created_at, item.id)


class Store:
    """All organizations of one mock app, keyed by API key, with their passwords in a vault."""

    def __init__(
        self,
        *,
        max_trunks: int = DEFAULT_MAX_TRUNKS,
        vault: Vault | None = None,
        clock: Clock = _utc_now,
        new_id: IdFactory = _uuid4,
    ) -> None:
        self.max_trunks = max_trunks
        self.vault = vault if vault is not None else Vault()
        self._clock = clock
        self._new_id = new_id
        self._orgs: dict[str, Organization] = {}
        self._baseline: dict[str, Organization] = {}
        self._baseline_vault = Vault()

    def __repr__(self) -> str:
        return f"<Store: {len(self._orgs)} organizations, max_trunks={self.max_trunks}>"

    # Organizations --------------------------------------------------------------------

    def organization(self, token: str) -> Organization:
        """The organization of ``token``, created with its demo phone numbers on first use."""
        org = self._orgs.get(token)
        if org is None:
            org = Organization(org_key(token), phone_numbers={n.id: n for n in demo_phone_numbers(token)})
            self._orgs[token] = org
        return org

    # Trunks ---------------------------------------------------------------------------

    def list_trunks(self, token: str) -> list[Trunk]:
        """The organization's trunks, oldest first (by ``created_at``, then ``id``)."""
        return sorted(self.organization(token).trunks.values(), key=_oldest_first)

    def create_trunk(
        self, token: str, *, name: str, host: str, username: str, password: str, port: int | None = None
    ) -> Trunk:
        """Create a trunk (port defaults to 5060) and put its password in the vault."""
        org = self.organization(token)
        if len(org.trunks) >= self.max_trunks:
            raise TrunkLimitReached(self.max_trunks)
        trunk = Trunk(
            id=self._new_id(),
            name=name,
            host=host,
            port=DEFAULT_PORT if port is None else port,
            username=username,
            created_at=format_timestamp(self._clock()),
        )
        org.trunks[trunk.id] = trunk
        self.vault.put(trunk.id, password)
        return trunk

    def get_trunk(self, token: str, trunk_id: str) -> Trunk:
        """The organization's trunk ``trunk_id``; any other id is ``TrunkNotFound``."""
        trunk = self.organization(token).trunks.get(trunk_id)
        if trunk is None:
            raise TrunkNotFound()
        return trunk

    def delete_trunk(self, token: str, trunk_id: str) -> None:
        """Delete a trunk, its secret, and every link to it from the organization's numbers."""
        org = self.organization(token)
        if org.trunks.pop(trunk_id, None) is None:
            raise TrunkNotFound()
        self.vault.discard(trunk_id)
        for number in list(org.phone_numbers.values()):
            if number.transfer_trunk_id == trunk_id:
                org.phone_numbers[number.id] = dataclasses.replace(number, transfer_trunk_id=None)

    # Phone numbers --------------------------------------------------------------------

    def list_phone_numbers(self, token: str) -> list[PhoneNumber]:
        """The organization's phone numbers, oldest first (by ``created_at``, then ``id``)."""
        return sorted(self.organization(token).phone_numbers.values(), key=_oldest_first)

    def get_phone_number(self, token: str, number_id: str) -> PhoneNumber:
        """The organization's phone number ``number_id``; any other id is ``PhoneNumberNotFound``."""
        number = self.organization(token).phone_numbers.get(number_id)
        if number is None:
            raise PhoneNumberNotFound()
        return number

    def update_phone_number(
        self, token: str, number_id: str, *, transfer_trunk_id: str | None
    ) -> PhoneNumber:
        """Point a phone number at one of the organization's trunks, or at none."""
        org = self.organization(token)
        number = self.get_phone_number(token, number_id)
        if transfer_trunk_id is not None and transfer_trunk_id not in org.trunks:
            raise UnknownTransferTrunk()
        updated = dataclasses.replace(number, transfer_trunk_id=transfer_trunk_id)
        org.phone_numbers[number_id] = updated
        return updated

    # Whole state ----------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """How many organizations, trunks and phone numbers the store holds."""
        return {
            "organizations": len(self._orgs),
            "trunks": sum(len(org.trunks) for org in self._orgs.values()),
            "phone_numbers": sum(len(org.phone_numbers) for org in self._orgs.values()),
        }

    def mark_baseline(self) -> None:
        """Make the current state (a loaded seed, say) the one ``reset()`` returns to."""
        self._baseline = {token: org.copy() for token, org in self._orgs.items()}
        self._baseline_vault = self.vault.copy()

    def reset(self, token: str | None = None) -> None:
        """Drop what requests did: for every organization, or only for ``token``'s."""
        tokens = list(self._orgs) if token is None else [token]
        for each in tokens:
            self._drop(each)
        restore = self._baseline if token is None else {token: self._baseline.get(token)}
        for each, org in restore.items():
            if org is not None:
                self._orgs[each] = org.copy()
                self.vault.copy_from(self._baseline_vault, org.trunks)

    def _drop(self, token: str) -> None:
        org = self._orgs.pop(token, None)
        if org is not None:
            for trunk_id in org.trunks:
                self.vault.discard(trunk_id)

    def export_state(self) -> dict[str, Any]:
        """Every organization by API key, trunks and phone numbers oldest first; never passwords."""
        return {
            "organizations": {
                token: {
                    "trunks": [trunk.to_dict() for trunk in self.list_trunks(token)],
                    "phone_numbers": [number.to_dict() for number in self.list_phone_numbers(token)],
                }
                for token in self._orgs
            }
        }

    def import_state(self, state: Mapping[str, Any]) -> None:
        """Replace the whole state with ``state`` (the shape ``export_state`` returns).

        The document must already match the seed schema. Missing trunk or phone-number ids,
        ``created_at`` and ``port`` are filled in; a trunk's ``password`` goes to the vault
        (exports hold none, so trunks imported from an export have no password); an
        organization without ``phone_numbers`` gets its demo numbers. Nothing changes if the
        document is refused with ``InvalidState``.
        """
        organizations: Mapping[str, Any] = state.get("organizations") or {}
        built: dict[str, Organization] = {}
        secrets: dict[str, str] = {}
        taken: set[str] = set()  # trunk ids key the vault, so they are unique across organizations
        for token, spec in organizations.items():
            if not token or token != token.strip():
                # A bearer token is never empty nor padded: such an organization could not be reached.
                raise InvalidState("organizations: an API key must be non-empty, without surrounding spaces")
            built[token] = self._build_org(token, spec or {}, secrets, taken)
        for token in list(self._orgs):
            self._drop(token)
        self._orgs = built
        for trunk_id, secret in secrets.items():
            self.vault.put(trunk_id, secret)

    def _build_org(
        self, token: str, spec: Mapping[str, Any], secrets: dict[str, str], taken: set[str]
    ) -> Organization:
        where = f"organizations.{token}"
        org = Organization(org_key(token))
        trunks: list[Mapping[str, Any]] = spec.get("trunks") or []
        if len(trunks) > self.max_trunks:
            raise InvalidState(f"{where}.trunks: {len(trunks)} trunks, over the limit of {self.max_trunks}")
        now = format_timestamp(self._clock())
        for index, item in enumerate(trunks):
            trunk = Trunk(
                id=item.get("id") or self._new_id(),
                name=item["name"],
                host=item["host"],
                port=item.get("port", DEFAULT_PORT),
                username=item["username"],
                created_at=item.get("created_at") or now,
            )
            if trunk.id in taken:
                raise InvalidState(f"{where}.trunks[{index}].id: duplicate trunk id {trunk.id}")
            taken.add(trunk.id)
            org.trunks[trunk.id] = trunk
            if item.get("password") is not None:
                secrets[trunk.id] = item["password"]
        if "phone_numbers" not in spec:
            org.phone_numbers = {number.id: number for number in demo_phone_numbers(token)}
            return org
        for index, item in enumerate(spec.get("phone_numbers") or []):
            number = PhoneNumber(
                id=item.get("id") or self._new_id(),
                number=item["number"],
                transfer_trunk_id=item.get("transfer_trunk_id"),
                created_at=item.get("created_at") or now,
            )
            if number.id in org.phone_numbers:
                raise InvalidState(
                    f"{where}.phone_numbers[{index}].id: duplicate phone number id {number.id}"
                )
            if number.transfer_trunk_id is not None and number.transfer_trunk_id not in org.trunks:
                raise InvalidState(
                    f"{where}.phone_numbers[{index}].transfer_trunk_id: "
                    f"no trunk {number.transfer_trunk_id} in this organization"
                )
            org.phone_numbers[number.id] = number
        return org
