"""What the proxy has seen, per API key hash: trunks, deletions, phone-number links; bounded.

Bounded three ways: facts per key, keys, and facts of all keys together (about 1 KB each),
so memory stays under a few hundred MB whatever the traffic.

Every fact carries the tick at which its answer was complete, so a rule judges a later
answer only by facts that were settled before that later request started: two requests in
flight at once are never held against each other.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["TRUNK_FIELDS", "KeyMemory", "Known", "Memory"]

# The fields of a trunk that every view of it must repeat unchanged.
TRUNK_FIELDS = ("id", "name", "host", "port", "username", "created_at")


# A trunk as last seen: (its TRUNK_FIELDS values in that order, ``since``: the tick its answer
# ended, ``missing_since``: the tick a list that omitted it ended, or None). A plain tuple of
# plain values, which the cyclic collector stops tracking after its first look: the 100,000s
# of trunks a proxy remembers never lengthen a full collection (as objects, they doubled the
# p99 of creates through the proxy).
Known = tuple[tuple[Any, ...], int, "int | None"]


class _Tally:
    """How many facts every key's memory holds together (each fact ~1 KB)."""

    def __init__(self) -> None:
        self.facts = 0


class _Capped(OrderedDict[str, Any]):
    """An ordered map that forgets its oldest entries past ``limit``, and says so once.

    Entries go in by ``put`` and out by ``pop`` (or past the limit), and are counted on ``tally``.
    """

    def __init__(self, limit: int, on_trim: Callable[[], None], tally: _Tally | None = None) -> None:
        super().__init__()
        self.limit = limit
        self._on_trim = on_trim
        self._tally = tally or _Tally()

    def put(self, key: str, value: Any) -> None:
        if key not in self:
            self._tally.facts += 1
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)
            self._tally.facts -= 1
            self._on_trim()

    def pop(self, key: str, default: Any = None) -> Any:
        if key in self:
            self._tally.facts -= 1
        return super().pop(key, default)


class KeyMemory:
    """The facts of one API key (one organization)."""

    def __init__(self, limit: int, on_trim: Callable[[], None], tally: _Tally | None = None) -> None:
        self.trunks: _Capped = _Capped(limit, on_trim, tally)  # id -> Known
        self.deleted: _Capped = _Capped(limit, on_trim, tally)  # id -> tick the 204 ended
        self.links: _Capped = _Capped(limit, on_trim, tally)  # phone-number id -> (trunk id | None, tick)

    @property
    def facts(self) -> int:
        return len(self.trunks) + len(self.deleted) + len(self.links)

    def deleted_before(self, trunk_id: str, started: int) -> bool:
        tick = self.deleted.get(trunk_id)
        return tick is not None and tick < started

    def known_before(self, trunk_id: str, started: int) -> Known | None:
        known: Known | None = self.trunks.get(trunk_id)
        return known if known is not None and known[1] < started else None

    def mark_missing(self, trunk_id: str, tick: int) -> None:
        """A list that omitted the trunk ended at ``tick`` (the first such list counts)."""
        fields, since, missing_since = self.trunks[trunk_id]
        if missing_since is None:
            self.trunks[trunk_id] = (fields, since, tick)  # in place: its age is unchanged


class Memory:
    """Every key's facts and which key each trunk id belongs to; bounded, oldest forgotten first."""

    def __init__(
        self, *, max_trunks_per_key: int, max_keys: int, say: Callable[[str], None], max_facts: int = 200_000
    ) -> None:
        self._limit = max_trunks_per_key
        self._keys: OrderedDict[str, KeyMemory] = OrderedDict()
        self._max_keys = max_keys
        self._max_facts = max_facts
        self._tally = _Tally()
        self._say = say
        self._said: set[str] = set()
        self.owners: _Capped = _Capped(max_trunks_per_key * 10, lambda: self._once("trunk ids"))

    def of(self, key: str) -> KeyMemory:
        """The memory of ``key`` (a hash), made on first use; past the cap the least recent key goes."""
        memory = self._keys.get(key)
        if memory is None:
            memory = self._keys[key] = KeyMemory(
                self._limit, lambda: self._once("facts of one key"), self._tally
            )
            while len(self._keys) > self._max_keys:
                self._forget_oldest_key()
                self._once("API keys")
        self._keys.move_to_end(key)
        # All keys' facts together: the least recently used keys go first, never the one in use.
        while self._tally.facts > self._max_facts and len(self._keys) > 1:
            self._forget_oldest_key()
            self._once("facts of all keys")
        return memory

    @property
    def facts(self) -> int:
        """Trunks, deletions and links remembered, all keys together."""
        return self._tally.facts

    def _forget_oldest_key(self) -> None:
        _, forgotten = self._keys.popitem(last=False)
        self._tally.facts -= forgotten.facts

    def owner(self, trunk_id: str) -> str | None:
        owner: str | None = self.owners.get(trunk_id)
        return owner

    def learn(self, key: str, trunk: dict[str, Any], tick: int) -> None:
        """Remember ``trunk`` as ``key``'s, as seen in an answer that ended at ``tick``."""
        trunk_id = trunk["id"]
        self.of(key).trunks.put(trunk_id, (tuple(trunk.get(f) for f in TRUNK_FIELDS), tick, None))
        if trunk_id not in self.owners:
            self.owners.put(trunk_id, key)

    @property
    def keys(self) -> int:
        return len(self._keys)

    def _once(self, what: str) -> None:
        if what not in self._said:
            self._said.add(what)
            self._say(f"proxy: memory full ({what}); forgetting the oldest from now on (said once)")
