"""The state document of ``GET /__admin/state`` as JSON text pieces, written lazily from a store snapshot.

The same document as ``Store.export_state()``, built a batch of records at a time, so that
``mockserver.http.streaming`` can hand the event loop back between batches of a large state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TypeVar

from mockserver.domain.models import PhoneNumber, Trunk
from mockserver.domain.store import OrganizationSnapshot, oldest_first

__all__ = ["BATCH", "state_pieces"]

BATCH = 256  # records encoded in one call

_encode = json.JSONEncoder().encode
_Record = TypeVar("_Record", Trunk, PhoneNumber)


def _records(items: list[_Record]) -> Iterator[str]:
    ordered = oldest_first(items)
    for start in range(0, len(ordered), BATCH):
        batch = _encode([item.to_dict() for item in ordered[start : start + BATCH]])
        yield batch[1:-1] if start == 0 else ", " + batch[1:-1]


def state_pieces(snapshot: Iterable[OrganizationSnapshot]) -> Iterator[str]:
    """``{"organizations": {token: {"trunks": [...], "phone_numbers": [...]}, ...}}``, piece by piece."""
    yield '{"organizations": {'
    separator = ""
    for token, trunks, numbers in snapshot:
        yield f'{separator}{_encode(token)}: {{"trunks": ['
        yield from _records(trunks)
        yield '], "phone_numbers": ['
        yield from _records(numbers)
        yield "]}"
        separator = ", "
    yield "}}"
