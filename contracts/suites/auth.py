"""Suite ``auth``: every operation refuses requests without valid credentials, with 401 and a challenge.

The requests are otherwise valid (ids well formed, bodies schema-valid), so the missing
credentials are the only reason to refuse them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from contracts.engine.context import RunContext
from contracts.engine.events import Event, Progress
from contracts.engine.verdicts import Violation
from contracts.http.client import Exchange

__all__ = ["CHECK", "Credentials", "credentials_to_try", "operations", "run"]

CHECK = "auth_required"
_CHALLENGE = re.compile(r"^Bearer( .*)?$")
_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Credentials:
    """A way to send no valid credentials: the Authorization header value, or None for none."""

    label: str
    authorization: str | None


def credentials_to_try(token: str, unknown_key: str) -> tuple[Credentials, ...]:
    """Missing, empty, another scheme (with the real key), and a key no organization has."""
    return (
        Credentials("no Authorization header", None),
        Credentials("the Bearer scheme with no token", "Bearer"),
        Credentials("the Basic scheme with the valid key", f"Basic {token}"),
        Credentials("the valid key without a scheme", token),
        Credentials("an unknown bearer key", f"Bearer {unknown_key}"),
    )


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path template, operation) for every operation of the spec, in spec order."""
    for path, item in document["paths"].items():
        for method in _METHODS:
            if isinstance(item, dict) and method in item:
                yield method.upper(), path, item[method]


def run(ctx: RunContext) -> Iterator[Event]:
    token = ctx.config.token
    assert token is not None
    unknown_key = f"stk-unknown-{uuid.UUID(int=ctx.config.seed).hex[-12:]}"
    some_id = str(uuid.UUID(int=ctx.config.seed, version=4))
    # One failure per kind of credentials, naming every operation that let it through.
    failures: dict[str, list[tuple[str, Violation]]] = {}
    for method, template, _ in operations(ctx.document):
        label = f"{method} {template}"
        yield Progress("auth", label)
        path = re.sub(r"\{[^}]+\}", some_id, template)
        body = _valid_body(ctx, method, template)
        for credentials in credentials_to_try(token, unknown_key):
            if not ctx.guard.may_send(method, credentials.authorization):
                continue  # --read-only: no write that carries the key, even in the wrong scheme
            try:
                exchange = ctx.target.request(
                    CHECK, method, path, json_body=body, authorization=credentials.authorization
                )
                _verify(exchange, credentials)
            except Violation as violation:
                failures.setdefault(credentials.label, []).append((label, violation))
            else:
                ctx.tally.passed(CHECK)
    for found in failures.values():
        (label, first), others = found[0], found[1:]
        message = first.message
        if others:
            message += f"\n(also on {', '.join(other for other, _ in others)})"
            ctx.tally.failed(CHECK, len(others))
        yield ctx.violation(Violation(first.check, message, first.exchanges), operation=label)


def _verify(exchange: Exchange, credentials: Credentials) -> None:
    challenge = exchange.header("www-authenticate")
    if exchange.status != 401:
        raise Violation.expected(CHECK, f"401 for {credentials.label}", exchange.describe(), exchange)
    if challenge is None or not _CHALLENGE.match(challenge):
        raise Violation.expected(
            CHECK, f"WWW-Authenticate: Bearer on the 401 for {credentials.label}", repr(challenge), exchange
        )


def _valid_body(ctx: RunContext, method: str, template: str) -> dict[str, Any] | None:
    """A schema-valid body for the operations that take one (the password is the run's own)."""
    if method == "POST" and template == "/sip-trunks":
        return {
            "name": "auth probe",
            "host": "sip.example.com",
            "username": "probe",
            "password": ctx.book.new_password(),
        }
    if method == "PATCH":
        return {"transfer_trunk_id": None}
    return None
