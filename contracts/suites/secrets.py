"""Suite ``secrets``: provoke every answer that could echo a password, and search it.

Every response any suite receives is searched for the run's passwords (``RunContext.observe``
and the schemathesis check ``password_never_returned``). This suite adds the answers most
likely to leak: a trunk read back and listed, and errors about a body that holds a password.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from contracts.engine.context import RunContext
from contracts.engine.events import Event, Progress
from contracts.engine.verdicts import Violation
from contracts.http.client import Exchange, Target
from contracts.http.paths import safe_id, trunk_path

__all__ = ["CHECK", "run"]

CHECK = "password_never_returned"


def run(ctx: RunContext) -> Iterator[Event]:
    target = ctx.target
    created_ids: list[str] = []
    for label, probe in _probes(ctx, created_ids):
        yield Progress("secrets", label)
        mark = target.count
        try:
            probe(target)
        except Violation as violation:  # reproduced by every request of the probe
            yield ctx.violation(violation.with_history(target.since(mark)), operation=label)
    for trunk_id in created_ids:
        try:
            target.request(CHECK, "DELETE", trunk_path(trunk_id))
        except Violation as violation:
            yield ctx.violation(violation, operation="DELETE /sip-trunks/{id}")


def _probes(ctx: RunContext, created_ids: list[str]) -> list[tuple[str, Callable[[Target], Any]]]:
    book = ctx.book

    def body(**changes: Any) -> dict[str, Any]:
        return {
            "name": "secret probe",
            "host": "sip.example.com",
            "username": "probe",
            "password": book.new_password(),
        } | changes

    def create(target: Target) -> None:
        created = target.request(CHECK, "POST", "/sip-trunks", json_body=body(port=5061))
        try:
            trunk_id = created.json()["id"]
        except (ValueError, KeyError, TypeError):
            return
        if not safe_id(trunk_id):
            return
        created_ids.append(trunk_id)
        target.request(CHECK, "GET", trunk_path(trunk_id))
        target.request(CHECK, "GET", "/sip-trunks")

    def raw(content: bytes, content_type: str) -> Callable[[Target], Exchange]:
        return lambda target: target.request(
            CHECK, "POST", "/sip-trunks", content=content, content_type=content_type
        )

    password = book.new_password()
    malformed = ('{"name": "secret probe", "password": "' + password + '", ').encode()
    as_text = ('{"name": "x", "host": "h", "username": "u", "password": "' + password + '"}').encode()
    return [
        ("create, get and list a trunk", create),
        (
            "POST with a name too long",
            lambda t: t.request(CHECK, "POST", "/sip-trunks", json_body=body(name="n" * 256)),
        ),
        (
            "POST with a password too long",
            lambda t: t.request(
                CHECK, "POST", "/sip-trunks", json_body=body(password=book.new_password() + "p" * 256)
            ),
        ),
        (
            "POST with an unknown property",
            lambda t: t.request(CHECK, "POST", "/sip-trunks", json_body=body(vault_key="x")),
        ),
        (
            "POST with a port out of range",
            lambda t: t.request(CHECK, "POST", "/sip-trunks", json_body=body(port=70000)),
        ),
        ("POST with malformed JSON", raw(malformed, "application/json")),
        ("POST with Content-Type text/plain", raw(as_text, "text/plain")),
        (
            "POST without credentials",
            lambda t: t.request(CHECK, "POST", "/sip-trunks", json_body=body(), authorization=None),
        ),
    ]
