"""Suite ``isolation``: a second organization can neither see nor touch the first one's trunks.

Needs a second API key (``--second-token``); without one every check here is skipped,
never passed. The first organization creates a trunk; the second one lists, gets,
deletes it and links a phone number to it; then the first one deletes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from contracts.engine.catalog import checks_of
from contracts.engine.context import RunContext
from contracts.engine.events import CheckSkipped, Event, Progress
from contracts.engine.verdicts import Violation
from contracts.http.client import Exchange, Target
from contracts.http.paths import phone_path, safe_id, trunk_path

__all__ = ["run"]

CHECKS = checks_of("isolation")


def run(ctx: RunContext) -> Iterator[Event]:
    selected = [name for name in CHECKS if ctx.selects(name)]
    if ctx.other is None:
        for name in selected:
            yield CheckSkipped(
                name, "needs a second organization: give --second-token (or SIP_TRUNKS_SECOND_TOKEN)"
            )
        return
    owner, other = ctx.target, ctx.other
    created = owner.request(
        "isolation_get",
        "POST",
        "/sip-trunks",
        json_body={
            "name": "isolation probe",
            "host": "sip.example.com",
            "username": "isolation",
            "password": ctx.book.new_password(),
        },
    )
    trunk = _json(created)
    if created.status != 201 or not isinstance(trunk, dict) or not safe_id(trunk.get("id")):
        for name in selected:
            yield CheckSkipped(name, f"could not create a trunk to probe with: {created.describe()}")
        return
    trunk_id = trunk["id"]
    steps: dict[str, Callable[[], None]] = {
        "isolation_list": lambda: _list(other, trunk_id),
        "isolation_get": lambda: _get(owner, other, trunk_id),
        "isolation_delete": lambda: _delete(owner, other, trunk_id),
        "isolation_link": lambda: _link(other, trunk_id),
    }
    for name in selected:
        yield Progress("isolation", name)
        marks = (owner.count, other.count)
        try:
            steps[name]()
        except _Skip as skip:
            yield CheckSkipped(name, str(skip))
        except Violation as violation:  # reproduced by the step's requests, as either organization
            history = _merged(owner.since(marks[0]), other.since(marks[1]))
            yield ctx.violation(violation.with_history(history or violation.exchanges))
        else:
            ctx.tally.passed(name)
    owner.request("isolation_delete", "DELETE", trunk_path(trunk_id))  # clean up


class _Skip(Exception):
    """The target lacks what this check needs."""


def _merged(first: tuple[Exchange, ...], second: tuple[Exchange, ...]) -> tuple[Exchange, ...]:
    """Both organizations' exchanges in the order they were sent."""
    return tuple(sorted((*first, *second), key=lambda exchange: exchange.sequence))


def _json(exchange: Any) -> Any:
    try:
        return exchange.json()
    except ValueError:
        return None


def _list(other: Target, trunk_id: str) -> None:
    listed = other.request("isolation_list", "GET", "/sip-trunks")
    body = _json(listed)
    if listed.status != 200 or not isinstance(body, dict) or not isinstance(body.get("trunks"), list):
        raise Violation.expected(
            "isolation_list", "200 with the other organization's list", listed.describe(), listed
        )
    ids = [item.get("id") for item in body["trunks"] if isinstance(item, dict)]
    if trunk_id in ids:
        raise Violation.expected(
            "isolation_list", "the list without this organization's trunk", "the trunk listed", listed
        )


def _get(owner: Target, other: Target, trunk_id: str) -> None:
    got = other.request("isolation_get", "GET", trunk_path(trunk_id))
    if got.status != 404:
        raise Violation.expected("isolation_get", "404 for another organization's trunk", got.describe(), got)
    phones = _phone_ids(owner, "isolation_get")
    if phones:
        seen = other.request("isolation_get", "GET", phone_path(phones[0]))
        if seen.status != 404:
            raise Violation.expected(
                "isolation_get", "404 for another organization's phone number", seen.describe(), seen
            )


def _delete(owner: Target, other: Target, trunk_id: str) -> None:
    deleted = other.request("isolation_delete", "DELETE", trunk_path(trunk_id))
    if deleted.status != 404:
        raise Violation.expected(
            "isolation_delete", "404 for deleting another organization's trunk", deleted.describe(), deleted
        )
    still = owner.request("isolation_delete", "GET", trunk_path(trunk_id))
    if still.status != 200:
        raise Violation.expected(
            "isolation_delete", "the trunk still there for its owner", still.describe(), deleted, still
        )


def _link(other: Target, trunk_id: str) -> None:
    phones = _phone_ids(other, "isolation_link")
    if not phones:
        raise _Skip("the second organization has no phone numbers to link")
    before = other.request("isolation_link", "GET", phone_path(phones[0]))
    linked = other.request(
        "isolation_link", "PATCH", phone_path(phones[0]), json_body={"transfer_trunk_id": trunk_id}
    )
    if linked.status != 422:
        raise Violation.expected(
            "isolation_link", "422 for linking to another organization's trunk", linked.describe(), linked
        )
    after = other.request("isolation_link", "GET", phone_path(phones[0]))
    if _json(after) != _json(before):
        raise Violation.expected(
            "isolation_link", "the phone number unchanged after the 422", after.describe(), linked, after
        )


def _phone_ids(target: Target, check: str) -> list[str]:
    listed = target.request(check, "GET", "/phone-numbers")
    body = _json(listed)
    if listed.status != 200 or not isinstance(body, dict) or not isinstance(body.get("phone_numbers"), list):
        return []
    return [
        item["id"] for item in body["phone_numbers"] if isinstance(item, dict) and safe_id(item.get("id"))
    ]
