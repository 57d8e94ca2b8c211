"""Mutants that let one organization see or touch another one's trunks."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from mockserver.domain.models import PhoneNumber, Trunk
from mockserver.domain.store import Store

from .harness import TRUNK_PATH, App, Rewriting, Scope


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
        if scope["method"] == "GET" and TRUNK_PATH.match(scope["path"]) and caller == f"Bearer {self.other}":
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
