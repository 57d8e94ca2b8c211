"""Where the checker may send: ids read from a target go into a path as one encoded segment.

An id is data from the target, and the target may be broken or hostile: ``../../x`` put
into ``/sip-trunks/{id}`` as it is becomes ``DELETE /x`` once a client resolves the dots. So
an id goes into a path only percent-encoded as a single segment (``/``, ``?``, ``#``, ``%``
and every other reserved character encoded), and an id that cannot name one resource
(not a string, empty, ``.`` or ``..``) is never put into a path at all.

``confined`` is the last line: the one test every write the checker sends must pass,
whichever client sends it.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from contracts.safety.guard import SAFE_METHODS

__all__ = [
    "COLLECTIONS",
    "UnsafeId",
    "confined",
    "one_segment",
    "phone_path",
    "safe_id",
    "trunk_path",
    "write_outside_collections",
]

TRUNKS = "/sip-trunks"
PHONES = "/phone-numbers"
COLLECTIONS = (TRUNKS, PHONES)
# Segments a client or server resolves instead of naming a resource.
_DOT_SEGMENTS = frozenset({"", ".", ".."})


class UnsafeId(ValueError):
    """An id from the target that cannot name one resource; nothing is sent with it."""

    def __init__(self, resource_id: object) -> None:
        shown = repr(resource_id)
        if len(shown) > 80:
            shown = shown[:80] + "…"
        super().__init__(f"the id {shown} cannot name one resource: not sent in a path")
        self.resource_id = resource_id


def safe_id(resource_id: object) -> bool:
    """Whether ``resource_id`` can go into a path: a string other than ``""``, ``.`` and ``..``."""
    return isinstance(resource_id, str) and resource_id not in _DOT_SEGMENTS


def _item(collection: str, resource_id: object) -> str:
    if not safe_id(resource_id):
        raise UnsafeId(resource_id)
    assert isinstance(resource_id, str)
    return f"{collection}/{quote(resource_id, safe='')}"


def trunk_path(trunk_id: object) -> str:
    """``/sip-trunks/{trunk_id}``, the id one percent-encoded segment; ``UnsafeId`` if it cannot be."""
    return _item(TRUNKS, trunk_id)


def phone_path(phone_id: object) -> str:
    """``/phone-numbers/{phone_id}``, the id one percent-encoded segment; ``UnsafeId`` if it cannot be."""
    return _item(PHONES, phone_id)


def one_segment(value: str) -> bool:
    """Whether ``value``, put into a path as it is, stays one segment that no client or server resolves.

    It must hold no raw ``/``, ``?``, ``#`` or ``\\``, and must not decode to ``""``, ``.`` or
    ``..`` (``%2E%2E`` is ``..`` to many servers).
    """
    return not any(char in value for char in "/?#\\") and unquote(value) not in _DOT_SEGMENTS


def confined(path: str) -> bool:
    """Whether ``path`` is a collection or ``one_segment`` under one (the query is ignored)."""
    path = path.split("?", 1)[0]
    for collection in COLLECTIONS:
        if path == collection:
            return True
        if path.startswith(collection + "/"):
            return one_segment(path[len(collection) + 1 :])
    return False


def write_outside_collections(method: str, path: str) -> str | None:
    """Why a request must not be sent: a write whose path is not ``confined``; None when it may go."""
    if method.upper() in SAFE_METHODS or confined(path):
        return None
    return f"refused to send {method} {path}: outside /sip-trunks and /phone-numbers"
