"""Mutants that break the model: wrong values, ids that change, DELETE and the cascade, list order."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import ClassVar

from mockserver.domain.models import Trunk
from mockserver.domain.store import Store

from .harness import TRUNK_PATH, Rewriting, Scope, Seen

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
        if seen.method == "GET" and TRUNK_PATH.match(seen.path) and seen.status == 200:
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
        if scope["method"] == "DELETE" and TRUNK_PATH.match(scope["path"]):
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
        match = TRUNK_PATH.match(seen.path)
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


# -- list order and membership ---------------------------------------------------------------------


class ListNewestFirst(Store):
    """GET /sip-trunks lists the trunks newest first instead of oldest first."""

    def list_trunks(self, token: str) -> list[Trunk]:
        return super().list_trunks(token)[::-1]


class ListFirstPageOnly(Store):
    """GET /sip-trunks shows only the 50 oldest trunks: a page size, with no way to the next page."""

    def list_trunks(self, token: str) -> list[Trunk]:
        return super().list_trunks(token)[:50]
