"""Mutants that get HTTP wrong: authentication, status codes, content types."""

from __future__ import annotations

from dataclasses import dataclass

from mockserver.domain.models import PhoneNumber
from mockserver.domain.store import Store, TrunkNotFound

from .harness import TRUNK_PATH, UUID_PATTERN, App, Rewriting, Scope, Seen

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
        match = TRUNK_PATH.match(seen.path)
        if match and seen.status == 404 and not UUID_PATTERN.match(match["id"]):
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
