"""Mutants: the mock with one planted contract defect each, reached only over HTTP.

A mutant is one small object: a ``Store`` subclass that overrides one method (served with
``create_app(config, store=...)``), or a ``Rewriting`` middleware that changes one kind of
request or response. Its docstring says what is wrong. ``CORPUS`` maps each mutant to the
check that must catch it; ``tests/contracts/test_mutants.py`` and ``make mutants`` run it.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from contracts.catalog import by_name
from mockserver.models import PhoneNumber, Trunk
from mockserver.store import Store, TrunkNotFound

if TYPE_CHECKING:
    from mockserver import MockConfig

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_TRUNK_PATH = re.compile(r"^/sip-trunks/(?P<id>[^/]+)$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Far above what any budget creates, as for the CLI's embedded mock: a 409 would only be noise.
MAX_TRUNKS = 1_000_000


@dataclass
class Seen:
    """One exchange as the middleware sees it; ``rewrite`` may change the response fields."""

    method: str
    path: str
    authorization: str | None
    request_body: bytes
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    # The request was a DELETE that the mutant turned into a GET.
    deleting: bool = False

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def sent(self) -> Any:
        """The request's JSON body as the client sent it, or None."""
        try:
            return json.loads(self.request_body)
        except ValueError:
            return None

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value).encode()

    def set_header(self, name: bytes, value: bytes | None) -> None:
        """Replace (or, with None, remove) a response header."""
        others = [(k, v) for k, v in self.headers if k.lower() != name]
        self.headers = others if value is None else [*others, (name, value)]

    @property
    def created(self) -> bool:
        return self.method == "POST" and self.path == "/sip-trunks" and self.status == 201


@dataclass
class Rewriting:
    """Base of the middleware mutants: buffers each response of ``app`` and lets ``rewrite`` change it.

    On its own it changes nothing: the false-alarm tests serve the mock through it.
    """

    app: App

    @classmethod
    def around(cls, app: App, tokens: tuple[str, str]) -> Rewriting:
        """The mutant around ``app``, for a mock whose organizations have ``tokens``."""
        return cls(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = self.rewrite_request(scope)
        chunks: list[bytes] = []
        start: Message = {}
        body: list[bytes] = []

        async def spy() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        app_receive: Receive = spy
        if type(self).rewrite_body is not Rewriting.rewrite_body:
            scope, app_receive = await self._replaced_body(scope, spy, chunks)

        async def buffer(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            headers = dict(scope.get("headers") or [])
            seen = Seen(
                method="DELETE" if scope.get("mutant.deleting") else scope["method"],
                path=scope["path"],
                authorization=(headers.get(b"authorization") or b"").decode() or None,
                request_body=b"".join(chunks),
                status=start["status"],
                headers=[(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"],
                body=b"".join(body),
                deleting=bool(scope.get("mutant.deleting")),
            )
            self.rewrite(seen)
            await send(
                {
                    "type": "http.response.start",
                    "status": seen.status,
                    "headers": [*seen.headers, (b"content-length", str(len(seen.body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": seen.body})

        await self.app(scope, app_receive, buffer)

    async def _replaced_body(self, scope: Scope, spy: Receive, chunks: list[bytes]) -> tuple[Scope, Receive]:
        """Read the whole request body, let ``rewrite_body`` change it, and replay it to the app."""
        while True:
            message = await spy()
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        if message["type"] != "http.request":
            return scope, spy
        new = self.rewrite_body(scope, b"".join(chunks))
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        scope = {**scope, "headers": [*headers, (b"content-length", str(len(new)).encode())]}
        pending = [{"type": "http.request", "body": new, "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await spy()

        return scope, replay

    def rewrite_request(self, scope: Scope) -> Scope:
        return scope

    def rewrite_body(self, scope: Scope, body: bytes) -> bytes:
        """Change the request body before the app reads it; the default (not overridden) streams it."""
        return body

    def rewrite(self, seen: Seen) -> None:
        """Change the response in place; the default changes nothing."""


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


# -- leaking the password ------------------------------------------------------------------------


@dataclass
class LeakPasswordOnCreate(Rewriting):
    """The 201 of POST /sip-trunks echoes the password it was sent."""

    def rewrite(self, seen: Seen) -> None:
        if seen.created:
            seen.set_json({**seen.json(), "password": seen.sent()["password"]})


@dataclass
class LeakPasswordOnGet(Rewriting):
    """GET /sip-trunks/{id} returns the trunk's password (the create's body is remembered)."""

    passwords: dict[str, str] = field(default_factory=dict)

    def rewrite(self, seen: Seen) -> None:
        body = seen.json()
        if seen.method == "POST" and seen.path == "/sip-trunks" and seen.status == 201:
            self.passwords[body["id"]] = json.loads(seen.request_body)["password"]
        match = _TRUNK_PATH.match(seen.path)
        if seen.method == "GET" and match and seen.status == 200 and match["id"] in self.passwords:
            seen.set_json({**body, "password": self.passwords[match["id"]]})


@dataclass
class LeakPasswordInList(Rewriting):
    """GET /sip-trunks lists each trunk with its password (the create's body is remembered)."""

    passwords: dict[str, str] = field(default_factory=dict)

    def rewrite(self, seen: Seen) -> None:
        if seen.created:
            self.passwords[seen.json()["id"]] = seen.sent()["password"]
        elif seen.method == "GET" and seen.path == "/sip-trunks" and seen.status == 200:
            trunks = seen.json()["trunks"]
            seen.set_json({"trunks": [{**t, "password": self.passwords.get(t["id"], "")} for t in trunks]})


@dataclass
class LeakPasswordInErrors(Rewriting):
    """A 400 of POST /sip-trunks quotes the refused body, password included, in its ``detail``."""

    def rewrite(self, seen: Seen) -> None:
        problem = seen.json()
        if seen.method == "POST" and seen.status == 400 and isinstance(problem, dict):
            received = seen.request_body.decode("utf-8", "replace")
            seen.set_json({**problem, "detail": f"{problem.get('detail')} in {received}"})


@dataclass
class LeakPasswordInHeader(Rewriting):
    """The 201 of POST /sip-trunks carries the password, base64-encoded, in an ``X-Vault-Secret`` header."""

    def rewrite(self, seen: Seen) -> None:
        if seen.created:
            secret = base64.b64encode(seen.sent()["password"].encode()).decode()
            seen.set_header(b"x-vault-secret", secret.encode())


# -- wrong values, ids that change, malformed fields -----------------------------------------------


@dataclass
class WrongDefaultPort(Rewriting):
    """A trunk created without a port gets 5080 instead of 5060, in every view of it."""

    ids: set[str] = field(default_factory=set)

    def rewrite(self, seen: Seen) -> None:
        body = seen.json()
        created = seen.method == "POST" and seen.path == "/sip-trunks" and seen.status == 201
        if created and "port" not in json.loads(seen.request_body):
            self.ids.add(body["id"])
        if isinstance(body, dict) and body.get("id") in self.ids:
            seen.set_json({**body, "port": 5080})
        elif isinstance(body, dict) and isinstance(body.get("trunks"), list):
            trunks = [{**t, "port": 5080} if t.get("id") in self.ids else t for t in body["trunks"]]
            seen.set_json({"trunks": trunks})


@dataclass
class IdUppercasedOnGet(Rewriting):
    """GET /sip-trunks/{id} answers the trunk with its id in upper case: not the id it was created with."""

    def rewrite(self, seen: Seen) -> None:
        if seen.method == "GET" and _TRUNK_PATH.match(seen.path) and seen.status == 200:
            body = seen.json()
            seen.set_json({**body, "id": body["id"].upper()})


@dataclass
class CreatedAtWithoutMillis(Rewriting):
    """Trunks' ``created_at`` lose their milliseconds (``…T10:00:00Z``), which the spec's pattern requires."""

    _STAMP: ClassVar[re.Pattern[bytes]] = re.compile(
        rb'("created_at": ?"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d{3}Z"'
    )

    def rewrite(self, seen: Seen) -> None:
        if seen.path.startswith("/sip-trunks"):
            seen.body = self._STAMP.sub(rb'\1Z"', seen.body)


# -- DELETE and the cascade -----------------------------------------------------------------------


@dataclass
class DeleteDoesNothing(Rewriting):
    """DELETE of an existing trunk answers 204 but the trunk stays (the app only sees a GET)."""

    def rewrite_request(self, scope: Scope) -> Scope:
        if scope["method"] == "DELETE" and _TRUNK_PATH.match(scope["path"]):
            return {**scope, "method": "GET", "mutant.deleting": True}
        return scope

    def rewrite(self, seen: Seen) -> None:
        if seen.deleting and seen.status == 200:
            seen.status, seen.body = 204, b""
            seen.headers = [(k, v) for k, v in seen.headers if k.lower() != b"content-type"]


@dataclass
class NoCascade(Rewriting):
    """Deleting a trunk leaves phone numbers pointing at it (as every later read shows)."""

    links: dict[str, str] = field(default_factory=dict)  # phone id -> trunk id it used
    deleted: set[str] = field(default_factory=set)

    def rewrite(self, seen: Seen) -> None:
        body = seen.json()
        match = _TRUNK_PATH.match(seen.path)
        if seen.method == "PATCH" and seen.status == 200 and isinstance(body, dict):
            self.links[body["id"]] = body["transfer_trunk_id"]
        elif seen.method == "DELETE" and match and seen.status == 204:
            self.deleted.add(match["id"])
        elif seen.method == "GET" and seen.path.startswith("/phone-numbers") and isinstance(body, dict):
            numbers = body.get("phone_numbers", [body])
            for number in numbers:
                stale = self.links.get(number.get("id"))
                if number.get("transfer_trunk_id") is None and stale in self.deleted:
                    number["transfer_trunk_id"] = stale
            seen.set_json(body)


class CascadeClearsEveryNumber(Store):
    """Deleting a trunk clears ``transfer_trunk_id`` on every phone number, not only those that used it."""

    def delete_trunk(self, token: str, trunk_id: str) -> None:
        super().delete_trunk(token, trunk_id)
        for number in self.list_phone_numbers(token):
            self.update_phone_number(token, number.id, transfer_trunk_id=None)


# -- tenant isolation ------------------------------------------------------------------------------


@dataclass
class OtherOrgCanGet(Rewriting):
    """GET /sip-trunks/{id} by the second organization is served from the first one's trunks."""

    token: str = ""
    other: str = ""

    @classmethod
    def around(cls, app: App, tokens: tuple[str, str]) -> Rewriting:
        return cls(app, token=tokens[0], other=tokens[1])

    def rewrite_request(self, scope: Scope) -> Scope:
        headers = dict(scope["headers"])
        caller = headers.get(b"authorization", b"").decode()
        if scope["method"] == "GET" and _TRUNK_PATH.match(scope["path"]) and caller == f"Bearer {self.other}":
            headers[b"authorization"] = f"Bearer {self.token}".encode()
            return {**scope, "headers": list(headers.items())}
        return scope


class ListShowsEveryOrganization(Store):
    """GET /sip-trunks lists the trunks of every organization, not only the caller's."""

    def list_trunks(self, token: str) -> list[Trunk]:
        self.organization(token)
        every = [trunk for org in self._orgs.values() for trunk in org.trunks.values()]
        return sorted(every, key=lambda trunk: (trunk.created_at, trunk.id))


class OtherOrgCanDelete(Store):
    """DELETE /sip-trunks/{id} deletes the trunk whichever organization owns it."""

    def delete_trunk(self, token: str, trunk_id: str) -> None:
        owner = next((key for key, org in self._orgs.items() if trunk_id in org.trunks), token)
        super().delete_trunk(owner, trunk_id)


class LinkToOtherOrgsTrunk(Store):
    """PATCH /phone-numbers/{id} accepts a trunk of any organization as ``transfer_trunk_id``."""

    def update_phone_number(
        self, token: str, number_id: str, *, transfer_trunk_id: str | None
    ) -> PhoneNumber:
        if any(transfer_trunk_id in org.trunks for org in self._orgs.values()):
            number = dataclasses.replace(
                self.get_phone_number(token, number_id), transfer_trunk_id=transfer_trunk_id
            )
            self.organization(token).phone_numbers[number_id] = number
            return number
        return super().update_phone_number(token, number_id, transfer_trunk_id=transfer_trunk_id)


# -- authentication --------------------------------------------------------------------------------


@dataclass
class AuthNotEnforced(Rewriting):
    """A request without an Authorization header is served as the first organization."""

    token: str = ""

    @classmethod
    def around(cls, app: App, tokens: tuple[str, str]) -> Rewriting:
        return cls(app, token=tokens[0])

    def rewrite_request(self, scope: Scope) -> Scope:
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"authorization"]
        if len(headers) == len(scope["headers"]):
            return {**scope, "headers": [*headers, (b"authorization", f"Bearer {self.token}".encode())]}
        return scope


@dataclass
class NoChallengeOn401(Rewriting):
    """A 401 comes without the ``WWW-Authenticate: Bearer`` challenge."""

    def rewrite(self, seen: Seen) -> None:
        if seen.status == 401:
            seen.set_header(b"www-authenticate", None)


# -- status codes and content types ----------------------------------------------------------------


@dataclass
class CreateAnswers200(Rewriting):
    """A successful POST /sip-trunks answers 200 instead of 201."""

    def rewrite(self, seen: Seen) -> None:
        if seen.created:
            seen.status = 200


@dataclass
class MalformedIdIs400(Rewriting):
    """GET or DELETE /sip-trunks/{id} with an id that is not a UUID is 400 instead of 404."""

    def rewrite(self, seen: Seen) -> None:
        match = _TRUNK_PATH.match(seen.path)
        if match and seen.status == 404 and not _UUID.match(match["id"]):
            seen.status = 400
            seen.set_json({**seen.json(), "status": 400, "title": "Bad Request"})


class UnknownTrunkIs404(Store):
    """Linking a phone number to a trunk that does not exist is 404 (as for an unknown number), not 422."""

    def update_phone_number(
        self, token: str, number_id: str, *, transfer_trunk_id: str | None
    ) -> PhoneNumber:
        if transfer_trunk_id is not None and transfer_trunk_id not in self.organization(token).trunks:
            raise TrunkNotFound()
        return super().update_phone_number(token, number_id, transfer_trunk_id=transfer_trunk_id)


@dataclass
class ErrorsAsPlainJson(Rewriting):
    """Error responses say ``application/json`` instead of ``application/problem+json``."""

    def rewrite(self, seen: Seen) -> None:
        if seen.status >= 400:
            others = [(k, v) for k, v in seen.headers if k.lower() != b"content-type"]
            seen.headers = [*others, (b"content-type", b"application/json")]


@dataclass
class ListAsText(Rewriting):
    """GET /sip-trunks answers its JSON as ``text/plain``."""

    def rewrite(self, seen: Seen) -> None:
        if seen.method == "GET" and seen.path == "/sip-trunks" and seen.status == 200:
            seen.set_header(b"content-type", b"text/plain; charset=utf-8")


# -- invalid input accepted, valid input refused, server errors ------------------------------------


@dataclass
class PortClampedIntoRange(Rewriting):
    """POST /sip-trunks with a port out of 1-65535 is not refused: the port is clamped into range."""

    def rewrite_body(self, scope: Scope, body: bytes) -> bytes:
        sent = _json_body(body)
        port = sent.get("port") if isinstance(sent, dict) else None
        if scope["method"] == "POST" and type(port) is int and not 1 <= port <= 65535:
            return json.dumps({**sent, "port": min(max(port, 1), 65535)}).encode()
        return body


@dataclass
class UnknownPropertiesIgnored(Rewriting):
    """POST /sip-trunks with unknown properties is not refused: they are dropped."""

    KNOWN: ClassVar[frozenset[str]] = frozenset({"name", "host", "port", "username", "password"})

    def rewrite_body(self, scope: Scope, body: bytes) -> bytes:
        sent = _json_body(body)
        if scope["method"] == "POST" and isinstance(sent, dict) and set(sent) - self.KNOWN:
            return json.dumps({key: value for key, value in sent.items() if key in self.KNOWN}).encode()
        return body


@dataclass
class IPv6HostRefused(Rewriting):
    """POST /sip-trunks with a bracketed IPv6 host (valid in the spec) is refused with 400."""

    def rewrite_body(self, scope: Scope, body: bytes) -> bytes:
        sent = _json_body(body)
        host = sent.get("host") if isinstance(sent, dict) else None
        if scope["method"] == "POST" and isinstance(host, str) and host.startswith("["):
            return json.dumps({**sent, "host": ""}).encode()  # the app refuses an empty host
        return body


class NonLatin1NameCrashes(Store):
    """A trunk name outside Latin-1 (emoji, CJK) is a 500, as if stored in a latin-1 column."""

    def create_trunk(self, token: str, **fields: Any) -> Trunk:
        if any(ord(char) > 0xFF for char in fields["name"]):
            raise ValueError("the name does not fit a latin-1 column")
        return super().create_trunk(token, **fields)


class MaxPortCrashes(Store):
    """Port 65535 (the largest valid one) is a 500, as if ``port + 1`` overflowed 16 bits."""

    def create_trunk(self, token: str, **fields: Any) -> Trunk:
        if fields.get("port") == 65535:
            raise OverflowError("port + 1 does not fit in 16 bits")
        return super().create_trunk(token, **fields)


# -- list order and membership ---------------------------------------------------------------------


class ListNewestFirst(Store):
    """GET /sip-trunks lists the trunks newest first instead of oldest first."""

    def list_trunks(self, token: str) -> list[Trunk]:
        return super().list_trunks(token)[::-1]


class ListFirstPageOnly(Store):
    """GET /sip-trunks shows only the 50 oldest trunks: a page size, with no way to the next page."""

    def list_trunks(self, token: str) -> list[Trunk]:
        return super().list_trunks(token)[:50]


# -- the corpus ------------------------------------------------------------------------------------

Mutant = type[Rewriting] | type[Store]


@dataclass(frozen=True)
class Planted:
    """A mutant of the corpus and the check that must catch it."""

    mutant: Mutant
    check: str
    # The suite the tests run for it, when not the check's own: the one that catches it
    # whatever the seed (the model's edge cases, where generated values may miss).
    within: str | None = None

    @property
    def name(self) -> str:
        return self.mutant.__name__

    @property
    def defect(self) -> str:
        """What is wrong: the first line of the mutant's docstring."""
        return (self.mutant.__doc__ or "").strip().splitlines()[0]

    @property
    def suite(self) -> str:
        """The suite that must catch it."""
        return self.within or by_name(self.check).suite

    def app(self, config: MockConfig) -> App:
        """The mock of ``config`` with this defect planted."""
        from mockserver import create_app

        if issubclass(self.mutant, Store):
            return create_app(config, store=self.mutant(max_trunks=config.max_trunks))
        first, second = config.tokens
        return self.mutant.around(create_app(config), (first, second))


CORPUS: tuple[Planted, ...] = (
    Planted(LeakPasswordOnCreate, "password_never_returned"),
    Planted(LeakPasswordOnGet, "password_never_returned"),
    Planted(LeakPasswordInList, "password_never_returned"),
    Planted(LeakPasswordInErrors, "password_never_returned"),
    Planted(LeakPasswordInHeader, "password_never_returned"),
    Planted(WrongDefaultPort, "port_defaults_to_5060"),
    Planted(IdUppercasedOnGet, "get_matches_create"),
    Planted(CreatedAtWithoutMillis, "response_schema_conformance"),
    Planted(DeleteDoesNothing, "delete_removes_trunk"),
    Planted(NoCascade, "delete_cascade"),
    Planted(CascadeClearsEveryNumber, "delete_cascade"),
    Planted(OtherOrgCanGet, "isolation_get"),
    Planted(ListShowsEveryOrganization, "isolation_list"),
    Planted(OtherOrgCanDelete, "isolation_delete"),
    Planted(LinkToOtherOrgsTrunk, "isolation_link"),
    Planted(AuthNotEnforced, "auth_required"),
    Planted(NoChallengeOn401, "auth_required"),
    Planted(CreateAnswers200, "status_code_conformance"),
    Planted(MalformedIdIs400, "unknown_id_is_404"),
    Planted(UnknownTrunkIs404, "unknown_trunk_is_422"),
    Planted(ErrorsAsPlainJson, "problem_details"),
    Planted(ListAsText, "content_type_conformance"),
    Planted(PortClampedIntoRange, "negative_data_rejection"),
    Planted(UnknownPropertiesIgnored, "negative_data_rejection"),
    Planted(IPv6HostRefused, "create_answers_trunk"),
    Planted(NonLatin1NameCrashes, "not_a_server_error", within="model"),
    Planted(MaxPortCrashes, "not_a_server_error"),
    Planted(ListNewestFirst, "list_matches_model"),
    Planted(ListFirstPageOnly, "list_matches_model"),
)


@contextmanager
def serving(
    planted: Planted | None,
    tokens: tuple[str, str],
    *,
    through: bool = False,
    wrap: Callable[[App], App] | None = None,
) -> Iterator[str]:
    """Serve the mock, with ``planted``'s defect if given, on a loopback port; yields its base URL.

    ``through`` serves the correct mock through the pass-through ``Rewriting`` (a control:
    the middleware alone must not be what the suite catches); ``wrap`` goes around it all.
    """
    from mockserver import MockConfig, create_app, running_mock

    config = MockConfig(tokens=tokens, access_log=False, max_trunks=MAX_TRUNKS)
    if planted is not None:
        app = planted.app(config)
    else:
        app = Rewriting(create_app(config)) if through else create_app(config)
    if wrap is not None:
        app = wrap(app)
    with running_mock(config, app=app) as mock:
        yield str(mock.base_url)
