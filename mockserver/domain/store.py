"""The in-memory domain of the mock: organizations by API key, their trunks and phone numbers (stdlib only).

Every method runs to completion without awaiting, so on the server's single event loop each
one is atomic: a delete and its cascade are one step. Rules the spec cannot express (tenancy,
the cascade, the trunk cap, references) live here and raise ``mockserver.domain.errors``.

Every new API key makes an organization, so their number is capped (``max_organizations``):
past it, a new key evicts the organization that has gone unused the longest, with its trunks
and their passwords. Organizations of the seed (the state ``reset()`` returns to) and of
``keep`` (the keys an allow-list accepts) are never evicted and do not count.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from mockserver.domain.errors import (
    DomainError,
    InvalidState,
    NotFound,
    PhoneNumberNotFound,
    TrunkLimitReached,
    TrunkNotFound,
    UnknownTransferTrunk,
)
from mockserver.domain.models import (
    Organization,
    PhoneNumber,
    Trunk,
    demo_phone_numbers,
    format_timestamp,
    org_key,
)
from mockserver.domain.vault import Vault

__all__ = [
    "DEFAULT_MAX_ORGANIZATIONS",
    "DEFAULT_MAX_TRUNKS",
    "DEFAULT_PORT",
    "DomainError",
    "InvalidState",
    "NotFound",
    "OrganizationSnapshot",
    "PhoneNumberNotFound",
    "Store",
    "TrunkLimitReached",
    "TrunkNotFound",
    "UnknownTransferTrunk",
    "oldest_first",
]

DEFAULT_PORT = 5060
DEFAULT_MAX_TRUNKS = 1000
DEFAULT_MAX_ORGANIZATIONS = 10_000

logger = logging.getLogger("mockserver.domain.store")

RecordT = TypeVar("RecordT", Trunk, PhoneNumber)
Clock = Callable[[], datetime]
IdFactory = Callable[[], str]
OrganizationSnapshot = tuple[str, list[Trunk], list[PhoneNumber]]
"""An organization as it was: its API key, its trunks and its phone numbers (in no order)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _uuid4() -> str:
    return str(uuid.uuid4())


def _oldest_first(item: Trunk | PhoneNumber) -> tuple[str, str]:
    return (item.created_at, item.id)


def oldest_first(items: Iterable[RecordT]) -> list[RecordT]:
    """Trunks or phone numbers oldest first (by ``created_at``, then ``id``), as every list shows them."""
    return sorted(items, key=_oldest_first)


class Store:
    """All organizations of one mock app, keyed by API key, with their passwords in a vault."""

    def __init__(
        self,
        *,
        max_trunks: int = DEFAULT_MAX_TRUNKS,
        max_organizations: int = DEFAULT_MAX_ORGANIZATIONS,
        keep: Iterable[str] = (),
        vault: Vault | None = None,
        clock: Clock = _utc_now,
        new_id: IdFactory = _uuid4,
    ) -> None:
        if max_organizations < 1:
            raise ValueError(f"max_organizations must be 1 or more, got {max_organizations}")
        self.max_trunks = max_trunks
        self.max_organizations = max_organizations
        self.vault = vault if vault is not None else Vault()
        self.evicted = 0  # organizations evicted so far
        self._clock = clock
        self._new_id = new_id
        self._keep = frozenset(keep)
        # Least recently used first: every lookup moves its organization to the end.
        self._orgs: OrderedDict[str, Organization] = OrderedDict()
        self._pinned = self._keep  # never evicted, not counted: the keep keys and the baseline's
        self._pinned_held = 0  # how many of them _orgs holds
        self._baseline: dict[str, Organization] = {}
        self._baseline_vault = Vault()

    def __repr__(self) -> str:
        return (
            f"<Store: {len(self._orgs)} organizations, max_trunks={self.max_trunks}, "
            f"max_organizations={self.max_organizations}>"
        )

    # Organizations --------------------------------------------------------------------

    def organization(self, token: str) -> Organization:
        """The organization of ``token``, created with its demo phone numbers on first use.

        A new organization over ``max_organizations`` evicts the one unused the longest.
        """
        orgs = self._orgs
        org = orgs.get(token)
        if org is not None:
            orgs.move_to_end(token)
            return org
        if token in self._pinned:
            self._pinned_held += 1
        elif len(orgs) - self._pinned_held >= self.max_organizations:
            self._evict_one()
        org = Organization(org_key(token), phone_numbers={n.id: n for n in demo_phone_numbers(token)})
        orgs[token] = org
        return org

    def _count_pinned(self) -> None:
        self._pinned_held = sum(1 for token in self._pinned if token in self._orgs)

    def _evict_one(self) -> None:
        """Drop the organization unused the longest that is not pinned (pinned ones are passed over)."""
        orgs = self._orgs
        for _ in range(len(orgs)):
            token = next(iter(orgs))
            if token not in self._pinned:
                if not self.evicted:
                    logger.warning(
                        "organization cap reached (%d, --max-organizations): from now on each new API "
                        "key evicts the organization unused the longest, with its trunks; those of the "
                        "seed and of --token keys are kept. Said once.",
                        self.max_organizations,
                    )
                self._drop(token)
                self.evicted += 1
                return
            orgs.move_to_end(token)  # a pinned one: not looked at again until the others were

    # Trunks ---------------------------------------------------------------------------

    def list_trunks(self, token: str) -> list[Trunk]:
        """The organization's trunks, oldest first (by ``created_at``, then ``id``)."""
        return oldest_first(self.organization(token).trunks.values())

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
        return oldest_first(self.organization(token).phone_numbers.values())

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
        """Make the current state (a loaded seed, say) the one ``reset()`` returns to; it is never evicted."""
        self._baseline = {token: org.copy() for token, org in self._orgs.items()}
        self._baseline_vault = self.vault.copy()
        self._pinned = self._keep | self._baseline.keys()
        self._count_pinned()

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
        self._count_pinned()

    def _drop(self, token: str) -> None:
        org = self._orgs.pop(token, None)
        if org is not None:
            for trunk_id in org.trunks:
                self.vault.discard(trunk_id)

    def snapshot(self) -> list[OrganizationSnapshot]:
        """Every organization as it is now, least recently used first; never passwords.

        Cheap (lists of references to immutable records), so it can be taken in one step of
        the event loop and read afterwards while the store changes.
        """
        return [
            (token, list(org.trunks.values()), list(org.phone_numbers.values()))
            for token, org in self._orgs.items()
        ]

    def export_state(self) -> dict[str, Any]:
        """Every organization by API key, trunks and phone numbers oldest first; never passwords."""
        return {
            "organizations": {
                token: {
                    "trunks": [trunk.to_dict() for trunk in oldest_first(trunks)],
                    "phone_numbers": [number.to_dict() for number in oldest_first(numbers)],
                }
                for token, trunks, numbers in self.snapshot()
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
        counted = sum(1 for token in organizations if token not in self._pinned)
        if counted > self.max_organizations:
            raise InvalidState(
                f"organizations: {counted} organizations, over the limit of {self.max_organizations}"
            )
        built: OrderedDict[str, Organization] = OrderedDict()
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
        self._count_pinned()
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
