"""The rules that need memory: what one answer says against what earlier answers said.

Each rule judges only from what the proxy saw. A trunk or a link it never saw made is
learned from the first answer that shows it, never flagged; a trunk that vanishes without
a DELETE seen (deleted by traffic that bypasses the proxy) is forgotten. A list that omits a
trunk is flagged only once a later answer shows the trunk still there: it existed before
and after the list, so the list was wrong whatever happened behind the proxy's back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from contracts.proxy.exchange import Exchange
from contracts.proxy.exchange_checks import Finding
from contracts.proxy.memory import TRUNK_FIELDS, KeyMemory, Memory

__all__ = ["judge"]

_TRUNK = re.compile(r"^/sip-trunks/(?P<id>[^/]+)$")
_NUMBER = re.compile(r"^/phone-numbers/(?P<id>[^/]+)$")
_SENT_FIELDS = ("name", "host", "username")


def judge(exchange: Exchange, memory: Memory) -> list[Finding]:
    """The stateful rules this exchange breaks; updates ``memory`` with what it shows."""
    request = exchange.request
    if request.bearer is None or not 200 <= exchange.status < 500:
        return []
    method, path, body = request.method, request.path, exchange.json
    trunk = _TRUNK.match(path)
    if method == "POST" and path == "/sip-trunks":
        return list(_created(exchange, memory, body)) if exchange.status < 300 and _is_trunk(body) else []
    if method == "GET" and path == "/sip-trunks" and exchange.status == 200 and isinstance(body, dict):
        trunks = body.get("trunks")
        return list(_listed(exchange, memory, trunks)) if isinstance(trunks, list) else []
    if method == "GET" and trunk:
        return list(_got(exchange, memory, trunk["id"], body))
    if method == "DELETE" and trunk:
        return list(_deleted(exchange, memory, trunk["id"]))
    if method == "PATCH" and _NUMBER.match(path) and exchange.status == 200 and isinstance(body, dict):
        return list(_linked(exchange, memory, body))
    if method == "PATCH" and (number := _NUMBER.match(path)) and exchange.status == 404:
        return list(_not_linked(exchange, memory, number["id"]))
    if method == "GET" and path.startswith("/phone-numbers") and exchange.status == 200:
        numbers = body.get("phone_numbers", [body]) if isinstance(body, dict) else []
        return list(_numbers(exchange, memory, numbers if isinstance(numbers, list) else []))
    return []


def _is_trunk(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("id"), str)


def _created(exchange: Exchange, memory: Memory, trunk: dict[str, Any]) -> Iterator[Finding]:
    sent = exchange.request.json
    sent = sent if isinstance(sent, dict) else {}
    for name in _SENT_FIELDS:
        if name in sent and trunk.get(name) != sent[name]:
            yield Finding("create_answers_trunk", f"expected the created trunk's {name} as sent, got another")
    if "port" in sent and trunk.get("port") != sent["port"]:
        yield Finding(
            "create_answers_trunk", f"expected port {sent['port']!r} as sent, got {trunk.get('port')!r}"
        )
    elif "port" not in sent and trunk.get("port") != 5060:
        yield Finding(
            "port_defaults_to_5060",
            f"expected port 5060 for a trunk created without one, got {trunk.get('port')!r}",
        )
    key = exchange.request.key
    # Known before this create began (a list in flight may show the new trunk first: no reuse).
    reused = memory.of(key).known_before(trunk["id"], exchange.request.started) is not None
    if reused or memory.owner(trunk["id"]) not in (None, key):
        yield Finding("create_answers_trunk", f"expected a fresh id, got {trunk['id']}, already seen")
    memory.learn(key, trunk, exchange.finished)


def _listed(exchange: Exchange, memory: Memory, trunks: list[Any]) -> Iterator[Finding]:
    key, started = exchange.request.key, exchange.request.started
    mine = memory.of(key)
    trunks = [trunk for trunk in trunks if _is_trunk(trunk)]
    order = [(str(trunk.get("created_at")), trunk["id"]) for trunk in trunks]
    if order != sorted(order):
        yield Finding(
            "list_matches_model",
            "expected the trunks oldest first (by created_at, then id), got another order",
        )
    listed = set()
    for trunk in trunks:
        trunk_id = trunk["id"]
        listed.add(trunk_id)
        yield from _seen(exchange, memory, trunk, "list_matches_model", "isolation_list")
    for trunk_id, (_, since, _) in list(mine.trunks.items()):
        if since < started and trunk_id not in listed:
            mine.mark_missing(trunk_id, exchange.finished)  # flagged if a later answer shows it still there


def _got(exchange: Exchange, memory: Memory, trunk_id: str, body: Any) -> Iterator[Finding]:
    if exchange.status == 404:
        # Deleted behind the proxy's back, or never this key's.
        memory.of(exchange.request.key).trunks.pop(trunk_id, None)
        return
    if exchange.status != 200 or not _is_trunk(body):
        return
    if body["id"] != trunk_id:
        yield Finding("get_matches_create", f"expected the trunk {trunk_id}, got one with id {body['id']}")
        return
    yield from _seen(exchange, memory, body, "get_matches_create", "isolation_get")


def _seen(
    exchange: Exchange, memory: Memory, trunk: dict[str, Any], check: str, leak: str
) -> Iterator[Finding]:
    """A trunk shown in an answer: another key's, a deleted one, changed, or once omitted from a list."""
    key, started = exchange.request.key, exchange.request.started
    mine = memory.of(key)
    trunk_id = trunk["id"]
    owner = memory.owner(trunk_id)
    if owner is not None and owner != key:
        yield Finding(leak, f"expected only this API key's trunks, got {trunk_id}, created with another key")
        return
    if mine.deleted_before(trunk_id, started):
        yield Finding(
            "delete_removes_trunk", f"expected trunk {trunk_id} gone after its DELETE answered 204, got it"
        )
        return
    known = mine.known_before(trunk_id, started)
    if known is not None:
        fields, _, missing_since = known
        changed = [name for name, value in zip(TRUNK_FIELDS, fields, strict=True) if trunk.get(name) != value]
        if changed:
            yield Finding(check, f"expected trunk {trunk_id} as first seen, got another {', '.join(changed)}")
        if missing_since is not None and missing_since < started:
            yield Finding(
                "list_matches_model",
                f"expected every trunk of this key in the list, got a list without {trunk_id}, "
                "which existed before it and after it",
            )
    memory.learn(key, trunk, exchange.finished)


def _deleted(exchange: Exchange, memory: Memory, trunk_id: str) -> Iterator[Finding]:
    key, started = exchange.request.key, exchange.request.started
    mine = memory.of(key)
    if exchange.status == 404:
        mine.trunks.pop(trunk_id, None)
        return
    if not 200 <= exchange.status < 300:
        return
    owner = memory.owner(trunk_id)
    if owner is not None and owner != key:
        yield Finding(
            "isolation_delete", f"expected 404 for trunk {trunk_id} of another key, got {exchange.status}"
        )
        return
    if mine.deleted_before(trunk_id, started):
        yield Finding(
            "delete_removes_trunk", f"expected 404 for a second DELETE of {trunk_id}, got {exchange.status}"
        )
    mine.trunks.pop(trunk_id, None)
    mine.deleted.put(trunk_id, exchange.finished)


def _linked(exchange: Exchange, memory: Memory, number: dict[str, Any]) -> Iterator[Finding]:
    key, started = exchange.request.key, exchange.request.started
    mine = memory.of(key)
    linked = number.get("transfer_trunk_id")
    sent = exchange.request.json
    if isinstance(sent, dict) and "transfer_trunk_id" in sent and sent["transfer_trunk_id"] != linked:
        yield Finding("phone_links_match_model", "expected transfer_trunk_id as sent, got another")
    if isinstance(linked, str):
        owner = memory.owner(linked)
        if owner is not None and owner != key:
            yield Finding(
                "isolation_link", f"expected 422 for a link to trunk {linked} of another key, got 200"
            )
        elif mine.deleted_before(linked, started):
            yield Finding(
                "unknown_trunk_is_422", f"expected 422 for a link to deleted trunk {linked}, got 200"
            )
    if isinstance(number.get("id"), str):
        mine.links.put(number["id"], (linked, exchange.finished))


def _not_linked(exchange: Exchange, memory: Memory, number_id: str) -> Iterator[Finding]:
    """A 404 to a link of a phone number seen before, to a trunk deleted before: the contract says 422."""
    mine = memory.of(exchange.request.key)
    sent = exchange.request.json
    linked = sent.get("transfer_trunk_id") if isinstance(sent, dict) else None
    if (
        number_id in mine.links
        and isinstance(linked, str)
        and mine.deleted_before(linked, exchange.request.started)
    ):
        yield Finding(
            "unknown_trunk_is_422",
            f"expected 422 for a link of phone number {number_id} (seen before) to deleted trunk {linked}, "
            "got 404",
        )


def _numbers(exchange: Exchange, memory: Memory, numbers: list[Any]) -> Iterator[Finding]:
    mine: KeyMemory = memory.of(exchange.request.key)
    for number in numbers:
        if not isinstance(number, dict) or not isinstance(number.get("id"), str):
            continue
        linked = number.get("transfer_trunk_id")
        if isinstance(linked, str) and mine.deleted_before(linked, exchange.request.started):
            yield Finding(
                "delete_cascade",
                f"expected transfer_trunk_id null on {number['id']} after trunk {linked} was deleted, "
                "got the deleted trunk",
            )
        mine.links.put(number["id"], (linked, exchange.finished))
