"""What the proxy has seen, per API key hash: trunks, deletions, phone-number links; bounded.

Every fact carries the tick at which its answer was complete, so a rule judges a later
answer only by facts that were settled before that later request started: two requests in
flight at once are never held against each other.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["TRUNK_FIELDS", "KeyMemory", "Known", "Memory"]

# The fields of a trunk that every view of it must repeat unchanged.
TRUNK_FIELDS = ("id", "name", "host", "port", "username", "created_at")


@dataclass
class Known:
    """A trunk as last seen, since tick ``since``; ``missing_since``: a list that omitted it ended then."""

    fields: dict[str, Any]
    since: int
    missing_since: int | None = None


class _Capped(OrderedDict[str, Any]):
    """An ordered map that forgets its oldest entries past ``limit``, and says so once."""

    def __init__(self, limit: int, on_trim: Callable[[], None]) -> None:
        super().__init__()
        self.limit = limit
        self._on_trim = on_trim

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)
            self._on_trim()


class KeyMemory:
    """The facts of one API key (one organization)."""

    def __init__(self, limit: int, on_trim: Callable[[], None]) -> None:
        self.trunks: _Capped = _Capped(limit, on_trim)  # id -> Known
        self.deleted: _Capped = _Capped(limit, on_trim)  # id -> tick the 204 ended
        self.links: _Capped = _Capped(limit, on_trim)  # phone-number id -> (trunk id | None, tick)

    def deleted_before(self, trunk_id: str, started: int) -> bool:
        tick = self.deleted.get(trunk_id)
        return tick is not None and tick < started

    def known_before(self, trunk_id: str, started: int) -> Known | None:
        known: Known | None = self.trunks.get(trunk_id)
        return known if known is not None and known.since < started else None


class Memory:
    """Every key's facts and which key each trunk id belongs to; bounded, oldest forgotten first."""

    def __init__(self, *, max_trunks_per_key: int, max_keys: int, say: Callable[[str], None]) -> None:
        self._limit = max_trunks_per_key
        self._keys: OrderedDict[str, KeyMemory] = OrderedDict()
        self._max_keys = max_keys
        self._say = say
        self._said: set[str] = set()
        self.owners: _Capped = _Capped(max_trunks_per_key * 10, lambda: self._once("trunk ids"))

    def of(self, key: str) -> KeyMemory:
        """The memory of ``key`` (a hash), made on first use; past the cap the least recent key goes."""
        memory = self._keys.get(key)
        if memory is None:
            memory = self._keys[key] = KeyMemory(self._limit, lambda: self._once("facts of one key"))
            while len(self._keys) > self._max_keys:
                self._keys.popitem(last=False)
                self._once("API keys")
        self._keys.move_to_end(key)
        return memory

    def owner(self, trunk_id: str) -> str | None:
        owner: str | None = self.owners.get(trunk_id)
        return owner

    def learn(self, key: str, trunk: dict[str, Any], tick: int) -> None:
        """Remember ``trunk`` as ``key``'s, as seen in an answer that ended at ``tick``."""
        trunk_id = trunk["id"]
        self.of(key).trunks.put(trunk_id, Known({f: trunk.get(f) for f in TRUNK_FIELDS}, tick))
        if trunk_id not in self.owners:
            self.owners.put(trunk_id, key)

    @property
    def keys(self) -> int:
        return len(self._keys)

    def _once(self, what: str) -> None:
        if what not in self._said:
            self._said.add(what)
            self._say(f"proxy: memory full ({what}); forgetting the oldest from now on (said once)")
