"""The error table and the Allow table of ``mockserver.http.problems``."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from mockserver.domain.errors import (
    DomainError,
    InvalidState,
    PhoneNumberNotFound,
    TrunkLimitReached,
    TrunkNotFound,
    UnknownTransferTrunk,
)
from mockserver.http.problems import AllowTable, status_and_title


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


@pytest.mark.anyio
async def test_no_error_answer_goes_through_a_worker_thread(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # connexion runs a plain-function error handler in a worker thread (~150 µs an answer);
    # ours are coroutines, including the one for connexion's own problems.
    import connexion.middleware.exceptions

    def no_thread(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an error handler ran in a worker thread")

    monkeypatch.setattr(connexion.middleware.exceptions, "run_in_threadpool", no_thread)
    auth = {"Authorization": "Bearer tok"}
    answers = [
        await client.get(f"/sip-trunks/{uuid.uuid4()}", headers=auth),  # a domain error
        await client.get("/sip-trunks"),  # Unauthorized
        await client.post("/sip-trunks", json={"name": 1}, headers=auth),  # connexion's 400
        await client.put("/sip-trunks", headers=auth),  # 405
        await client.get("/nope", headers=auth),  # starlette's 404
        await client.post("/sip-trunks", content=b"x", headers={**auth, "Content-Type": "text/plain"}),
    ]
    assert [answer.status_code for answer in answers] == [404, 401, 400, 405, 404, 415]
    assert all(answer.headers["content-type"] == "application/problem+json" for answer in answers)
