"""The ledger of a run: what it created and changed, so that it deletes and restores exactly that.

Every trunk the run creates is recorded with its organization; its name starts with the
run's prefix ``sip-trunks-check-<run id>-``, so ``sip-trunks check --cleanup RUN_ID`` can find
leftovers of a run that could not clean up. Trunks seen in lists that are not the run's are
foreign: the run never writes to them. Phone numbers are recorded with their
``transfer_trunk_id`` before the run first changed them, and put back at the end.

With a ``Journal`` (``contracts.safety.journal``) the ledger is saved before each change it
records goes out, so that a run killed outright can still be undone by ``--cleanup``.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from contracts.errors import UsageError

if TYPE_CHECKING:
    pass

__all__ = [
    "FIRST",
    "NAME_PREFIX",
    "SECOND",
    "Journal",
    "Ledger",
    "new_run_id",
    "valid_run_id",
]

FIRST, SECOND = "first", "second"
ORGS = (FIRST, SECOND)
NAME_PREFIX = "sip-trunks-check-"
MAX_NAME_LENGTH = 255  # the spec's maxLength for a trunk name
_RUN_ID = re.compile(r"^[0-9a-z]{4,32}$")
# An id read back from a journal goes into a URL path: one segment, nothing that could leave it.
_SAFE_ID = re.compile(r"^(?!\.{1,2}$)[^/?#%\\\s]{1,256}$")


def new_run_id() -> str:
    """A fresh run id: 8 hex digits."""
    return secrets.token_hex(4)


def valid_run_id(value: str) -> str:
    """``value`` if it can be a run id (4-32 lowercase letters and digits), else ``UsageError``."""
    if not _RUN_ID.match(value):
        raise UsageError(
            f"a run id is 4 to 32 lowercase letters and digits, as printed by the run, got {value!r}"
        )
    return value


class Journal(Protocol):
    """Where a ledger is kept as it changes; ``save`` returns once the document is safely stored."""

    def save(self, document: dict[str, Any]) -> None: ...

    def remove(self) -> None: ...


@dataclass
class Ledger:
    """What one run created (trunks, by organization) and changed (phone-number links)."""

    run_id: str
    # trunk id -> (organization, name), in creation order.
    trunks: dict[str, tuple[str, str]] = field(default_factory=dict)
    foreign: set[str] = field(default_factory=set)
    # The run's trunks that a DELETE answered 204 or 404 for: the cleanup need not ask again.
    gone: set[str] = field(default_factory=set)
    # (organization, phone id) -> transfer_trunk_id when first seen, and before the run changed it.
    phones_seen: dict[tuple[str, str], str | None] = field(default_factory=dict)
    phones_changed: dict[tuple[str, str], str | None] = field(default_factory=dict)
    # Saved to before each change is sent (write-ahead); None: in memory only.
    journal: Journal | None = field(default=None, repr=False, compare=False)
    # Re-entrant: a change saves the journal while holding it.
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def prefix(self) -> str:
        """The start of every trunk name the run gives: ``sip-trunks-check-<run id>-``."""
        return f"{NAME_PREFIX}{self.run_id}-"

    def name(self, name: Any) -> Any:
        """``name`` with the run's prefix, cut to 255 characters; anything not a valid name as it is.

        A name the spec refuses (empty, too long, not a string) stays as it was, so a
        request meant to be refused still is.
        """
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_LENGTH or name.startswith(self.prefix):
            return name
        return (self.prefix + name)[:MAX_NAME_LENGTH]

    def created(self, org: str, trunk_id: str, name: str = "") -> None:
        with self._lock:
            new = trunk_id not in self.trunks
            self.trunks.setdefault(trunk_id, (org, name))
            self.foreign.discard(trunk_id)
            if new:
                self._save()

    def listed(self, org: str, items: Iterable[Mapping[str, Any]]) -> None:
        """Trunks in a list answer: the run's own by name prefix, every other one foreign."""
        for item in items:
            trunk_id, name = item.get("id"), item.get("name")
            if not isinstance(trunk_id, str) or trunk_id in self.trunks:
                continue
            if isinstance(name, str) and name.startswith(self.prefix):
                self.created(org, trunk_id, name)
            else:
                with self._lock:
                    self.foreign.add(trunk_id)

    def deleted(self, trunk_id: str) -> None:
        """A DELETE of one of the run's trunks answered 204 or 404: it is gone."""
        with self._lock:
            if trunk_id in self.trunks:
                self.gone.add(trunk_id)

    def is_foreign(self, trunk_id: str) -> bool:
        """Whether ``trunk_id`` was listed and is not the run's."""
        return trunk_id in self.foreign and trunk_id not in self.trunks

    def phones(self, org: str, items: Iterable[Mapping[str, Any]]) -> None:
        """Phone numbers as first seen (before the run changes any)."""
        with self._lock:
            for item in items:
                phone_id = item.get("id")
                if isinstance(phone_id, str):
                    self.phones_seen.setdefault((org, phone_id), item.get("transfer_trunk_id"))

    def is_phone(self, phone_id: str) -> bool:
        """Whether ``phone_id`` is a phone number the run has seen listed."""
        with self._lock:  # another thread may be adding phone numbers
            return any(seen == phone_id for _, seen in self.phones_seen)

    def phone_written(self, org: str, phone_id: str) -> None:
        """The run is about to change this phone number: remember its link as first seen."""
        key = (org, phone_id)
        with self._lock:
            if key in self.phones_seen and key not in self.phones_changed:
                self.phones_changed[key] = self.phones_seen[key]
                self._save()  # before the write is sent: a crash in between can still put it back

    def document(
        self,
        settled_trunks: Iterable[str] = (),
        settled_phones: Iterable[tuple[str, str]] = (),
    ) -> dict[str, Any]:
        """What a journal keeps: ids and organization labels only, without what is settled.

        Never a name (generated text), a key or a password.
        """
        done_trunks, done_phones = set(settled_trunks), set(settled_phones)
        with self._lock:
            return {
                "run_id": self.run_id,
                "trunks": [
                    {"org": org, "id": trunk_id}
                    for trunk_id, (org, _) in self.trunks.items()
                    if trunk_id not in done_trunks
                ],
                "phone_numbers": [
                    {"org": org, "id": phone_id, "transfer_trunk_id": before}
                    for (org, phone_id), before in self.phones_changed.items()
                    if (org, phone_id) not in done_phones
                ],
            }

    @classmethod
    def from_document(cls, document: Any) -> Ledger:
        """The ledger a journal kept; ``ValueError`` if ``document`` is not one."""
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        run_id = document.get("run_id")
        if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
            raise ValueError(f"bad run_id {run_id!r}")
        ledger = cls(run_id)
        trunks, phones = document.get("trunks"), document.get("phone_numbers")
        if not isinstance(trunks, list) or not isinstance(phones, list):
            raise ValueError("trunks and phone_numbers must be lists")
        for entry in trunks:
            org, trunk_id = _entry(entry, "trunk")
            ledger.trunks.setdefault(trunk_id, (org, ""))
        for entry in phones:
            org, phone_id = _entry(entry, "phone number")
            before = entry.get("transfer_trunk_id")
            if before is not None and not (isinstance(before, str) and _SAFE_ID.match(before)):
                raise ValueError(f"bad transfer_trunk_id {before!r} of phone number {phone_id}")
            ledger.phones_changed.setdefault((org, phone_id), before)
        return ledger

    def _save(self) -> None:
        if self.journal is not None:
            self.journal.save(self.document())


def _entry(entry: Any, what: str) -> tuple[str, str]:
    """The organization and id of a journal entry; ``ValueError`` unless both are sound."""
    if not isinstance(entry, dict):
        raise ValueError(f"a {what} entry is not an object")
    org, entry_id = entry.get("org"), entry.get("id")
    if org not in ORGS or not isinstance(entry_id, str) or not _SAFE_ID.match(entry_id):
        raise ValueError(f"bad {what} entry {entry!r}")
    return org, entry_id
