"""The error table and the Allow table of ``mockserver.problems``."""

from __future__ import annotations

import pytest

from mockserver.errors import (
    DomainError,
    InvalidState,
    PhoneNumberNotFound,
    TrunkLimitReached,
    TrunkNotFound,
    UnknownTransferTrunk,
)
from mockserver.problems import AllowTable, status_and_title


class _NewKindOfMissing(TrunkNotFound):
    """A subclass nobody put in the table: found through its MRO."""


@pytest.mark.parametrize(
    ("error", "status", "title"),
    [
        (TrunkNotFound(), 404, "Not Found"),
        (PhoneNumberNotFound(), 404, "Not Found"),
        (_NewKindOfMissing(), 404, "Not Found"),
        (TrunkLimitReached(3), 409, "Trunk limit reached"),
        (UnknownTransferTrunk(), 422, "Unknown SIP trunk"),
        (InvalidState("x"), 400, "Invalid state"),
        (DomainError("x"), 400, "Bad Request"),
    ],
    ids=["trunk", "number", "subclass", "cap", "reference", "state", "base"],
)
def test_domain_errors_map_along_the_mro(error: DomainError, status: int, title: str) -> None:
    assert status_and_title(error) == (status, title)


def test_allow_table_matches_templates_segment_by_segment() -> None:
    table = AllowTable.from_specs(
        [
            (
                "",
                {
                    "paths": {
                        "/items": {"get": {}, "post": {}},
                        "/items/{id}": {"get": {}, "delete": {}, "parameters": []},
                    }
                },
            ),
            ("/__admin", {"paths": {"/state": {"get": {}, "put": {}}}}),
        ]
    )
    assert table.allow("/items") == "GET, POST"
    assert table.allow("/items/abc") == "GET, DELETE"
    assert table.allow("/__admin/state") == "GET, PUT"
    assert table.allow("/items/abc/def") is None
    assert table.allow("/other") is None
