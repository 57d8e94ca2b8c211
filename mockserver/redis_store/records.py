"""How trunks, phone numbers, tokens and passwords are written in Redis: short JSON, ASCII only.

JSON with ``ensure_ascii`` keeps every value Redis holds printable and free of lone
surrogates (a JSON body may carry ``"\\ud800"``; UTF-8 cannot encode it). A trunk is
``[name, host, port, username, created_at]`` under its id; a phone number
``[number, created_at]`` under its id, its link to a trunk kept apart so that the delete
cascade and the link check never parse JSON in Lua.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from mockserver.domain.models import Organization, PhoneNumber, Trunk, demo_phone_numbers

__all__ = [
    "demo_args",
    "dump_number",
    "dump_state",
    "dump_trunk",
    "load_numbers",
    "load_trunk",
    "load_trunks",
    "org_args",
    "secret",
]

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_loads = json.loads


@functools.lru_cache(maxsize=4096)
def org_hash(token: str) -> str:
    """The organization's key in Redis: 40 hex digits of SHA-256 of its token (tokens are never key names)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:40]


@functools.lru_cache(maxsize=4096)
def demo_args(token: str) -> tuple[str, ...]:
    """The demo phone numbers a new organization gets, as script arguments: count, then id, record pairs."""
    numbers = demo_phone_numbers(token)
    args: list[str] = [str(len(numbers))]
    for number in numbers:
        args += [number.id, dump_number(number)]
    return tuple(args)


@functools.lru_cache(maxsize=4096)
def org_args(token: str) -> tuple[str, str]:
    """The organization's hash and its token as stored (JSON)."""
    return org_hash(token), _dumps(token)


def secret(password: str) -> str:
    """A password as the vault holds it (JSON, so any string is ASCII)."""
    return _dumps(password)


def dump_trunk(trunk: Trunk) -> str:
    """A trunk's record (its id is the field name)."""
    return _dumps([trunk.name, trunk.host, trunk.port, trunk.username, trunk.created_at])


def load_trunk(trunk_id: str, record: str) -> Trunk:
    """The trunk ``dump_trunk`` wrote."""
    name, host, port, username, created_at = _loads(record)
    return Trunk(trunk_id, name, host, port, username, created_at)


def load_trunks(flat: list[str]) -> list[Trunk]:
    """Trunks from ``HGETALL`` (id, record, id, record...), oldest first (by ``created_at``, then id)."""
    trunks = [load_trunk(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]
    trunks.sort(key=lambda trunk: (trunk.created_at, trunk.id))
    return trunks


def dump_number(number: PhoneNumber) -> str:
    """A phone number's record, without its link."""
    return _dumps([number.number, number.created_at])


def load_number(number_id: str, record: str, link: str | None) -> PhoneNumber:
    """The phone number ``dump_number`` wrote, with its link (None or ``""``: none)."""
    number, created_at = _loads(record)
    return PhoneNumber(number_id, number, link or None, created_at)


def load_numbers(flat: list[str], links: list[str]) -> list[PhoneNumber]:
    """Phone numbers from ``HGETALL`` of records and of links, oldest first."""
    linked = {links[i]: links[i + 1] for i in range(0, len(links), 2)}
    numbers = [load_number(flat[i], flat[i + 1], linked.get(flat[i])) for i in range(0, len(flat), 2)]
    numbers.sort(key=lambda number: (number.created_at, number.id))
    return numbers


def _flat(pairs: Iterable[tuple[str, str]]) -> list[str]:
    return [item for pair in pairs for item in pair]


def dump_state(organizations: Mapping[str, Organization], secrets: Mapping[str, str]) -> str:
    """A whole state as the ``init`` and ``replace_state`` scripts read it."""
    orgs: list[Any] = []
    for token, org in organizations.items():
        h, stored = org_args(token)
        numbers = org.phone_numbers.values()
        orgs.append(
            [
                h,
                stored,
                _flat((trunk.id, dump_trunk(trunk)) for trunk in org.trunks.values()),
                _flat((number.id, dump_number(number)) for number in numbers),
                _flat((n.id, n.transfer_trunk_id) for n in numbers if n.transfer_trunk_id is not None),
            ]
        )
    vault = _flat((trunk_id, secret(password)) for trunk_id, password in secrets.items())
    return _dumps({"orgs": orgs, "vault": vault})
