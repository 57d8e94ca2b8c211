"""The model's long list: ``LONG_LIST`` trunks created, listed in one answer, oldest first, deleted.

Programs of a dozen steps never hold more trunks than any common page size; this step
does, so a list cut at a page is caught (``list_matches_model``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

from contracts.engine.context import RunContext
from contracts.engine.events import Event
from contracts.engine.parallel import run_lanes, shares
from contracts.engine.verdicts import Violation
from contracts.http.client import Exchange, Target
from contracts.http.paths import safe_id, trunk_path
from contracts.suites.model.state import OrgModel

__all__ = ["LONG_LIST", "run", "short_ids"]

# Trunks the long-list step holds at once: more than any common page size (10, 20, 25, 50,
# 100), which programs of a dozen steps never reach. A list cut at a page is then caught.
LONG_LIST = 101


def short_ids(trunks: list[Any]) -> list[str]:
    """The first 8 characters of each trunk's id, for messages."""
    return [str(trunk.get("id"))[:8] for trunk in trunks if isinstance(trunk, dict)]


def _json(exchange: Exchange) -> Any:
    try:
        return exchange.json()
    except ValueError:
        return None


def run(ctx: RunContext) -> Iterator[Event]:
    """Create ``LONG_LIST`` trunks, list them (all of them, oldest first), delete them.

    It needs creates to work: on any answer but 201 it stops (409: the account is full)
    and compares what it made; the programs report a broken create. With lanes, each lane
    creates and deletes its share; the list is still one request, after every create.
    """
    check = "list_matches_model"
    model = OrgModel()
    body = {"name": "long list", "host": "sip.example.com", "username": "list"}
    body["password"] = ctx.book.new_password()
    count = min(ctx.config.concurrency, LONG_LIST)
    targets = [ctx.lane_target(index) for index in range(count)]

    def create(target: Target, share: int) -> Callable[[], tuple[list[Exchange], Violation | None]]:
        def job() -> tuple[list[Exchange], Violation | None]:
            made: list[Exchange] = []
            try:
                for _ in range(share):
                    created = target.request(check, "POST", "/sip-trunks", json_body=body)
                    trunk = _json(created)
                    if (
                        created.status != 201
                        or not isinstance(trunk, dict)
                        or not safe_id(trunk.get("id"))
                        or not isinstance(trunk.get("created_at"), str)
                    ):
                        break  # the programs report a broken create
                    made.append(created)
            except Violation as violation:
                return made, violation
            return made, None

        return job

    creates: list[Exchange] = []
    try:
        made = run_lanes(
            [create(target, share) for target, share in zip(targets, shares(LONG_LIST, count), strict=True)],
            ctx.guard,
        )
        for exchanges, _ in made:
            creates += exchanges
        for exchange in sorted(creates, key=lambda exchange: exchange.sequence):
            model.add(exchange.json())
        for _, violation in made:
            if violation is not None:
                raise violation
        if len(creates) < 2:
            return
        target = ctx.target
        listed = target.request(check, "GET", "/sip-trunks")
        document = _json(listed)
        items = document.get("trunks") if isinstance(document, dict) else None
        if listed.status != 200 or not isinstance(items, list):
            raise Violation.expected(check, "200 with a list", listed.describe(), listed)
        expected, actual = model.listed(), model.restricted(items)
        if actual != expected:
            got = f"{len(actual)} of them" if len(actual) != len(expected) else "another order"
            raise Violation.expected(
                check,
                f"the {len(expected)} trunks just created, oldest first",
                f"{got}: {short_ids(actual)[:4]}…",
                creates[0],
                listed,
            )
        ctx.tally.passed(check)
    except Violation as violation:
        yield ctx.violation(violation, operation=f"model: {len(creates)} x POST /sip-trunks, GET /sip-trunks")
    finally:
        # Interrupted: nothing more is sent; the engine's cleanup deletes them under its deadline.
        if not isinstance(sys.exc_info()[1], KeyboardInterrupt):
            ids = list(model.trunks)
            run_lanes(
                [_deleting(target, ids[index::count]) for index, target in enumerate(targets)], ctx.guard
            )


def _deleting(target: Target, trunk_ids: list[str]) -> Callable[[], None]:
    """A lane's job: delete these trunks; best effort, a broken delete shows in the programs."""

    def job() -> None:
        try:
            for trunk_id in trunk_ids:
                target.request("list_matches_model", "DELETE", trunk_path(trunk_id))
        except Violation:
            pass

    return job
