"""Suite ``robustness``: bodies a careless parser chokes on, answered as the contract says, never a 5xx.

Two defects once found by hand in the mock, and their relatives: a JSON media type spelled
in another case (``Application/JSON``; media types are case-insensitive, RFC 9110 §8.3.1),
and bodies a JSON parser may trip over (nesting deeper than its recursion, bytes that are
not UTF-8, numbers beyond any float, ``NaN``, a byte order mark, a document cut short).
Trunks it creates carry the run's prefix and are deleted; the phone-number requests go to
an id no phone number has, so nothing of the account changes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from contracts.engine.catalog import checks_of
from contracts.engine.context import RunContext
from contracts.engine.events import CheckSkipped, Event, FailureFound, Progress
from contracts.engine.verdicts import Violation
from contracts.http.client import Exchange
from contracts.http.curl import Masker, render
from contracts.http.paths import phone_path, safe_id, trunk_path

__all__ = ["CHECKS", "MEDIA_TYPE", "MEDIA_TYPES", "ODD_JSON", "OddBody", "odd_bodies", "run"]

CHECKS = checks_of("robustness")
MEDIA_TYPE = "media_type_case_insensitive"
ODD_JSON = "odd_json_is_4xx"
# application/json as a client may spell it: the type in any case, with a charset (also in any case).
MEDIA_TYPES = ("Application/JSON", "application/json; charset=UTF-8", "APPLICATION/JSON; Charset=utf-8")
# Deeper than any recursive parser's default stack (Python's 1000), and under 64 KiB, a common
# body limit (the mock's): a smaller limit answers 413, which is fine too.
ARRAY_DEPTH = 30_000
OBJECT_DEPTH = 10_000
# A refused body is one of these; a 404 also for the phone number (its id does not exist).
_REFUSED = frozenset({400, 413, 422})
_TRUNK_FIELDS = ("name", "host", "port", "username")


@dataclass(frozen=True)
class OddBody:
    """A request body that is not a valid create, and how a reproduction can write it."""

    label: str
    content: bytes
    # A bash word that yields ``content`` for curl's --data-binary, when it is too long to print.
    shell: str | None = None
    # RFC 8259 §8.1: a parser may ignore a byte order mark, so the create may also succeed.
    may_succeed: bool = False


def _generated(expression: str) -> str:
    """A ``--data-binary`` argument that writes what the Python ``expression`` is, e.g. ``"[" * 3``."""
    return f"@<(python3 -c 'import sys; sys.stdout.write({expression})')"


def odd_bodies(valid: dict[str, Any]) -> tuple[OddBody, ...]:
    """Odd variants of ``valid``, a create body without a port; the mock refuses each with a 400."""
    text = json.dumps(valid)
    name = json.dumps(valid["name"])[1:-1]

    def port(value: str) -> bytes:
        return (text[:-1] + f', "port": {value}}}').encode()

    return (
        OddBody(
            f"JSON nested {ARRAY_DEPTH} deep (arrays)",
            b"[" * ARRAY_DEPTH + b"]" * ARRAY_DEPTH,
            _generated(f'"[" * {ARRAY_DEPTH} + "]" * {ARRAY_DEPTH}'),
        ),
        OddBody(
            f"JSON nested {OBJECT_DEPTH} deep (objects)",
            b'{"a":' * OBJECT_DEPTH + b"null" + b"}" * OBJECT_DEPTH,
            # No single quote in the expression: the shell word quotes it with them.
            _generated('"{\\"a\\":" * ' + f'{OBJECT_DEPTH} + "null" + "}}" * {OBJECT_DEPTH}'),
        ),
        OddBody(
            "a name that is not valid UTF-8",
            text.replace(name, name + "\udcff\udcfe", 1).encode("utf-8", "surrogateescape"),
        ),
        OddBody("port 1e400 (beyond any float)", port("1e400")),
        OddBody("port 10**400 (an integer of 401 digits)", port("1" + "0" * 400)),
        # Past Python's int() limit of 4300 digits: json.loads raises a plain ValueError.
        OddBody("port 10**5000 (an integer of 5001 digits)", port("1" + "0" * 5000)),
        OddBody("port NaN (not JSON)", port("NaN")),
        OddBody("port -Infinity (not JSON)", port("-Infinity")),
        OddBody("a UTF-8 byte order mark before the JSON", b"\xef\xbb\xbf" + text.encode(), may_succeed=True),
        OddBody("a document cut short", text[: text.index('"password"')].encode()),
    )


def run(ctx: RunContext) -> Iterator[Event]:
    steps: dict[str, Callable[[RunContext, list[str]], Iterator[Event]]] = {
        MEDIA_TYPE: _media_types,
        ODD_JSON: _odd_json,
    }
    created: list[str] = []
    for name in CHECKS:
        if ctx.selects(name):
            yield from steps[name](ctx, created)
    for trunk_id in created:
        with suppress(Violation):  # best effort: the run's clean-up deletes them too, and says what is left
            ctx.target.request(MEDIA_TYPE, "DELETE", trunk_path(trunk_id))


def _valid_body(ctx: RunContext, label: str) -> dict[str, Any]:
    """A valid create (no port); its name has the run's prefix, as every trunk the run creates."""
    guard = ctx.target.guard
    name = f"robustness {label}"
    return {
        "name": name if guard is None else guard.ledger.name(name),
        "host": "sip.example.com",
        "username": "robustness",
        "password": ctx.book.new_password(),
    }


def _trunk(exchange: Exchange) -> dict[str, Any] | None:
    """The trunk a create answered, or None unless it is 201 with an object that has an id."""
    try:
        body = exchange.json()
    except ValueError:
        return None
    if exchange.status != 201 or not isinstance(body, dict) or not safe_id(body.get("id")):
        return None
    return body


def _media_types(ctx: RunContext, created: list[str]) -> Iterator[Event]:
    """Each spelling of the media type is answered as ``application/json`` is: 201 with the trunk."""
    target = ctx.target
    yield Progress("robustness", "POST /sip-trunks as application/json, then as " + ", ".join(MEDIA_TYPES))
    try:
        control = target.request(MEDIA_TYPE, "POST", "/sip-trunks", json_body=_valid_body(ctx, "media type"))
    except Violation as violation:
        yield _report(ctx, violation, "POST /sip-trunks")
        return
    expected = _trunk(control)
    if expected is None:
        reason = f"a create sent as application/json was not 201 with a trunk: {control.describe()}"
        yield CheckSkipped(MEDIA_TYPE, reason)
        return
    created.append(expected["id"])
    for media_type in MEDIA_TYPES:
        operation = f"POST /sip-trunks with Content-Type: {media_type}"
        try:
            answer = target.request(
                MEDIA_TYPE,
                "POST",
                "/sip-trunks",
                json_body=_valid_body(ctx, "media type"),
                content_type=media_type,
            )
            trunk = _trunk(answer)
            if trunk is not None:
                created.append(trunk["id"])
            _same_trunk(expected, trunk, answer, media_type)
        except Violation as violation:
            yield _report(ctx, violation.with_history((control, *violation.exchanges)), operation)
        else:
            ctx.tally.passed(MEDIA_TYPE)


def _same_trunk(
    expected: dict[str, Any], trunk: dict[str, Any] | None, answer: Exchange, media_type: str
) -> None:
    # RFC 9110 §8.3.1: the type, subtype and parameter names are case-insensitive.
    wanted = f"201 with the trunk, as for Content-Type: application/json ({media_type} is the same)"
    if trunk is None:
        raise Violation.expected(MEDIA_TYPE, wanted, answer.describe(), answer)
    fields = {key: trunk.get(key) for key in _TRUNK_FIELDS}
    if set(trunk) != set(expected) or fields != {key: expected.get(key) for key in _TRUNK_FIELDS}:
        raise Violation.expected(MEDIA_TYPE, wanted, answer.describe(), answer)
    if trunk["id"] == expected["id"]:
        raise Violation.expected(MEDIA_TYPE, "a new id for a new trunk", repr(trunk["id"]), answer)


def _odd_json(ctx: RunContext, created: list[str]) -> Iterator[Event]:
    """Each odd body is refused with a 4xx problem, never a 5xx, and the target still lists trunks."""
    # An id no phone number has: the PATCH can change nothing, even with --no-phone-writes.
    phone = phone_path(str(uuid.UUID(int=ctx.config.seed + 1, version=4)))
    for odd in odd_bodies(_valid_body(ctx, "odd json")):
        yield Progress("robustness", f"POST /sip-trunks and PATCH /phone-numbers/{{id}} with {odd.label}")
        sends = (
            ("POST", "/sip-trunks", "/sip-trunks", _REFUSED | ({201} if odd.may_succeed else set())),
            ("PATCH", phone, "/phone-numbers/{id}", _REFUSED | {404}),
        )
        for method, path, template, allowed in sends:
            try:
                _refused_then_alive(ctx, created, odd, method, path, allowed)
            except Violation as violation:
                yield _report(ctx, violation, f"{method} {template} with {odd.label}", odd)
            else:
                ctx.tally.passed(ODD_JSON)


def _refused_then_alive(
    ctx: RunContext, created: list[str], odd: OddBody, method: str, path: str, allowed: frozenset[int]
) -> None:
    target = ctx.target
    answer = target.request(ODD_JSON, method, path, content=odd.content, content_type="application/json")
    trunk = _trunk(answer) if method == "POST" else None
    if trunk is not None:
        created.append(trunk["id"])
    if answer.status not in allowed:
        statuses = " or ".join(str(status) for status in sorted(allowed))
        raise Violation.expected(ODD_JSON, f"{statuses} for {odd.label}", answer.describe(), answer)
    media_type = (answer.header("content-type") or "").split(";")[0].strip().lower()
    if answer.status >= 400 and media_type != "application/problem+json":
        raise Violation.expected(
            ODD_JSON,
            f"an application/problem+json body with the {answer.status}",
            media_type or "no Content-Type",
            answer,
        )
    listed = target.request(ODD_JSON, "GET", "/sip-trunks")
    if listed.status != 200:
        raise Violation.expected(
            ODD_JSON, f"GET /sip-trunks still 200 after {odd.label}", listed.describe(), answer, listed
        )


def _report(
    ctx: RunContext, violation: Violation, operation: str, odd: OddBody | None = None
) -> FailureFound:
    """The failure event; an odd body too long to print is reproduced by the command that writes it."""
    if odd is None or odd.shell is None:
        return ctx.violation(violation, operation)
    return ctx.violation(violation, operation, curl=lambda exchange: _curl(exchange, ctx.masker, odd))


def _curl(exchange: Exchange, masker: Masker, odd: OddBody) -> str:
    if odd.shell is None or exchange.request_body != odd.content:
        return exchange.curl(masker)
    command = render(exchange.method, exchange.url, exchange.request_headers, None, masker)
    head, url = command.rsplit(" ", 1)
    return f"{head} --data-binary {odd.shell} {url}"
