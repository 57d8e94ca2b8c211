"""Suite ``sequences``: the delete cascade, then schemathesis's stateful phase along the links.

The cascade needs two resources at once (a new trunk and an existing phone number), which no
single OpenAPI link can express, so it is one explicit sequence:
create trunks A and B → link phone 1 to A and phone 2 to B → delete A → phone 1 is null, phone 2
still B, every other phone number unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contracts.engine.context import RunContext
from contracts.engine.events import CheckSkipped, Event, Progress
from contracts.engine.verdicts import Violation
from contracts.http.client import Exchange, Target
from contracts.http.paths import phone_path, safe_id, trunk_path
from contracts.suites import generated

__all__ = ["CHECK", "run"]

CHECK = "delete_cascade"
_STATEFUL = ("use_after_free", "ensure_resource_availability")


def run(ctx: RunContext) -> Iterator[Event]:
    if ctx.selects(CHECK):
        yield Progress("sequences", "create → link a phone number → delete → the link is cleared")
        yield from _cascade(ctx)
    if any(ctx.selects(name) for name in _STATEFUL):
        yield from generated.run(ctx, stateful=True)


class _Steps:
    """The exchanges of the sequence so far: each violation is reproduced by all of them."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.history: list[Exchange] = []

    def send(self, method: str, path: str, body: dict[str, Any] | None = None) -> Exchange:
        exchange = self.target.request(CHECK, method, path, json_body=body)
        self.history.append(exchange.trimmed())  # kept for reproductions: the request, not a huge answer
        return exchange

    def fail(self, expected: str, got: str) -> Violation:
        return Violation.expected(CHECK, expected, got, *self.history)


def _json(exchange: Exchange) -> Any:
    try:
        return exchange.json()
    except ValueError:
        return None


def _phones(exchange: Exchange) -> dict[str, Any] | None:
    body = _json(exchange)
    if (
        exchange.status != 200
        or not isinstance(body, dict)
        or not isinstance(body.get("phone_numbers"), list)
    ):
        return None
    return {
        item["id"]: item.get("transfer_trunk_id")
        for item in body["phone_numbers"]
        if isinstance(item, dict) and safe_id(item.get("id"))
    }


def _cascade(ctx: RunContext) -> Iterator[Event]:
    steps = _Steps(ctx.target)
    before = _phones(steps.send("GET", "/phone-numbers"))
    if not before:
        yield CheckSkipped(CHECK, "the account has no phone numbers to link a trunk to")
        return
    phone_ids = list(before)[:2]
    trunks: list[str] = []
    try:
        for index in range(len(phone_ids)):
            created = steps.send("POST", "/sip-trunks", _trunk_body(ctx, index))
            trunk = _json(created)
            if created.status != 201 or not isinstance(trunk, dict) or not safe_id(trunk.get("id")):
                raise steps.fail("201 with the created trunk", created.describe())
            trunks.append(trunk["id"])
        for phone_id, trunk_id in zip(phone_ids, trunks, strict=True):
            linked = steps.send("PATCH", phone_path(phone_id), {"transfer_trunk_id": trunk_id})
            if linked.status != 200 or (_json(linked) or {}).get("transfer_trunk_id") != trunk_id:
                raise steps.fail(f"200 with transfer_trunk_id {trunk_id}", linked.describe())
        deleted = steps.send("DELETE", trunk_path(trunks[0]))
        if deleted.status != 204:
            raise steps.fail("204 for the delete", deleted.describe())
        after = _phones(steps.send("GET", "/phone-numbers"))
        if after is None:
            raise steps.fail("200 with the phone numbers", steps.history[-1].describe())
        expected = {**before, phone_ids[0]: None, **dict(zip(phone_ids[1:], trunks[1:], strict=True))}
        if after != expected:
            wrong = sorted(
                key for key in expected.keys() | after.keys() if expected.get(key) != after.get(key)
            )
            raise steps.fail(
                "transfer_trunk_id null on the number linked to the deleted trunk and no other change",
                "; ".join(f"{key}: {after.get(key)!r} (expected {expected.get(key)!r})" for key in wrong),
            )
        ctx.tally.passed(CHECK)
    except Violation as violation:
        yield ctx.violation(
            violation, operation="create → link → DELETE /sip-trunks/{id} → GET /phone-numbers"
        )
    finally:
        _restore(ctx.target, trunks, phone_ids, before)


def _trunk_body(ctx: RunContext, index: int) -> dict[str, Any]:
    return {
        "name": f"cascade probe {index + 1}",
        "host": "sip.example.com",
        "username": "cascade",
        "password": ctx.book.new_password(),
    }


def _restore(target: Target, trunks: list[str], phone_ids: list[str], before: dict[str, Any]) -> None:
    """Delete what the sequence created and put the phone numbers back as they were."""
    try:
        for trunk_id in trunks:
            target.request(CHECK, "DELETE", trunk_path(trunk_id))
        for phone_id in phone_ids:
            target.request(
                CHECK,
                "PATCH",
                phone_path(phone_id),
                json_body={"transfer_trunk_id": before[phone_id]},
            )
    except Violation:
        pass  # clean-up is best effort; a leak or a dropped connection here shows in other checks
