"""Mutants that leak a password the client sent: in a body, a list, an error, a header."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

from .harness import TRUNK_PATH, Rewriting, Seen


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
        match = TRUNK_PATH.match(seen.path)
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


@dataclass
class LeakPasswordAsBasicCredentials(Rewriting):
    """The 201 of POST /sip-trunks carries the password as HTTP Basic credentials of user ``sip-proxy``.

    The base64 of ``sip-proxy:<password>`` does not contain the base64 of the password alone
    (10 bytes come first, not a multiple of 3): only an alignment-aware search finds it.
    """

    def rewrite(self, seen: Seen) -> None:
        if seen.created:
            credentials = base64.b64encode(f"sip-proxy:{seen.sent()['password']}".encode()).decode()
            seen.set_header(b"x-upstream-authorization", f"Basic {credentials}".encode())
