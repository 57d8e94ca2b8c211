"""The request journal: ring buffer, masking, filters, and GET /__admin/requests over a real socket."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from mockserver import MockConfig, running_mock
from mockserver.controls.journal import BODY_LIMIT, MASK, Journal
from mockserver.domain.models import org_key

from .helpers import TOKEN_A, TOKEN_B, assert_problem, bearer, trunk_body

CANARY = "pw-Journal-Canary-Zq7"
TRUNK_ID = "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"


def record(journal: Journal, **fields: Any) -> None:
    entry: dict[str, Any] = {
        "started": 1_767_225_600.0,  # 2026-01-01T00:00:00Z
        "method": "GET",
        "path": "/sip-trunks",
        "status": 200,
        "duration_ms": 1.23456,
        "org": "org",
    }
    entry.update(fields)
    journal.record(**entry)


# The ring buffer ---------------------------------------------------------------------------


def test_an_entry_as_shown() -> None:
    journal = Journal(10)
    record(journal, request_body=b"", response_body=b'{"trunks": []}', faults=("f1",))
    assert journal.entries() == [
        {
            "id": 1,
            "time": "2026-01-01T00:00:00.000Z",
            "method": "GET",
            "path": "/sip-trunks",
            "status": 200,
            "duration_ms": 1.235,
            "org": "org",
            "request_body": None,
            "response_body": {"trunks": []},
            "truncated": False,
            "faults": ["f1"],
        }
    ]


def test_the_buffer_keeps_the_last_n_newest_last() -> None:
    journal = Journal(3)
    for n in range(5):
        record(journal, path=f"/sip-trunks/{n}")
    assert [(e["id"], e["path"]) for e in journal.entries()] == [
        (3, "/sip-trunks/2"),
        (4, "/sip-trunks/3"),
        (5, "/sip-trunks/4"),
    ]
    assert len(journal) == 3 and repr(journal) == "<Journal: 3 of 3 entries>"


@pytest.mark.parametrize("size", [0, -1, 100_001])
def test_size_is_bounded(size: int) -> None:
    with pytest.raises(ValueError, match="journal size must be between 1 and 100000"):
        Journal(size)


def test_filters_by_org_method_and_path_or_template() -> None:
    journal = Journal(10)
    record(journal, org="a", method="GET", path="/sip-trunks")
    record(journal, org="a", method="DELETE", path=f"/sip-trunks/{TRUNK_ID}")
    record(journal, org="b", method="GET", path=f"/sip-trunks/{TRUNK_ID}")
    record(journal, org=None, method="GET", path="/phone-numbers")

    def ids(**filters: str) -> list[int]:
        return [entry["id"] for entry in journal.entries(**filters)]

    assert ids(org="a") == [1, 2]
    assert ids(method="get") == [1, 3, 4]
    assert ids(path="/sip-trunks/{id}") == [2, 3]
    assert ids(path=f"/sip-trunks/{TRUNK_ID}", method="GET") == [3]
    assert ids(path="/sip-trunks") == [1]


def test_clear_all_or_one_org() -> None:
    journal = Journal(10)
    record(journal, org="a")
    record(journal, org="b")
    journal.clear("a")
    assert [e["org"] for e in journal.entries()] == ["b"]
    journal.clear()
    assert journal.entries() == []


# Masking --------------------------------------------------------------------------------


def test_the_password_is_masked_and_then_masked_wherever_it_shows() -> None:
    journal = Journal(10)
    record(journal, method="POST", request_body=f'{{"name": "n", "password": "{CANARY}"}}'.encode())
    # A response (or a path) that leaks it, in any later request.
    record(
        journal, path=f"/x/{CANARY}", response_body=f'{{"echo": ["a {CANARY} b"], "{CANARY}": 1}}'.encode()
    )
    record(journal, response_body=f"plain {CANARY}".encode())
    entries = journal.entries()
    assert entries[0]["request_body"] == {"name": "n", "password": MASK}
    assert entries[1]["path"] == f"/x/{MASK}"
    assert entries[1]["response_body"] == {"echo": [f"a {MASK} b"], MASK: 1}
    assert entries[2]["response_body"] == f"plain {MASK}"
    assert CANARY not in repr(entries)


@pytest.mark.parametrize(
    "body",
    [
        f'{{"password": "{CANARY}", '.encode(),  # malformed JSON
        f'{{"password": "{CANARY}", "name": "{"x" * BODY_LIMIT}"}}'.encode(),  # cut after the password
        b'{"name": "' + b"x" * (BODY_LIMIT - 30) + f'", "password": "{CANARY}"}}'.encode(),  # cut inside it
        f'{{"pass\\u0077ord": "{CANARY}"}}'.encode(),  # an escaped key, found when parsed
        f'[{{"password": "{CANARY}"}}]'.encode(),  # nested
    ],
    ids=["malformed", "cut-after", "cut-inside", "escaped-key", "nested"],
)
def test_bodies_that_are_not_plain_json_are_masked_too(body: bytes) -> None:
    journal = Journal(10)
    record(journal, method="POST", request_body=body)
    shown = repr(journal.entries())
    assert CANARY[:4] not in shown.replace(MASK, "")  # not even the start of a cut one


def test_a_long_body_is_kept_cut_as_text() -> None:
    journal = Journal(10)
    record(journal, response_body=b'{"trunks": [' + b" " * BODY_LIMIT + b"]}")
    (entry,) = journal.entries()
    assert entry["truncated"] is True
    assert isinstance(entry["response_body"], str) and len(entry["response_body"]) == BODY_LIMIT


def test_bodies_that_are_not_json_are_text() -> None:
    journal = Journal(10)
    record(journal, request_body=b"hello", response_body=b"\xff\xfe")
    (entry,) = journal.entries()
    assert (entry["request_body"], entry["response_body"]) == ("hello", "\ufffd\ufffd")


def test_the_journal_shows_no_body_in_its_repr() -> None:
    journal = Journal(10)
    record(journal, request_body=f'{{"password": "{CANARY}"}}'.encode())
    assert repr(journal) == "<Journal: 1 of 10 entries>"


# Over a real socket ----------------------------------------------------------------------


def journal(http: httpx.Client, **params: str) -> list[dict[str, Any]]:
    response = http.get("/__admin/requests", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["size"] == 1000
    requests: list[dict[str, Any]] = response.json()["requests"]
    return requests


def test_requests_and_answers_newest_last(http: httpx.Client) -> None:
    created = http.post("/sip-trunks", json=trunk_body(password=CANARY), headers=bearer()).json()
    http.get(f"/sip-trunks/{created['id']}", headers=bearer())
    http.get("/sip-trunks")
    entries = journal(http)
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/sip-trunks", 201),
        ("GET", f"/sip-trunks/{created['id']}", 200),
        ("GET", "/sip-trunks", 401),
    ]
    assert entries[0]["request_body"] == {**trunk_body(), "password": MASK}
    assert entries[0]["response_body"] == created and entries[1]["response_body"] == created
    assert entries[2]["response_body"]["title"] == "Unauthorized"
    assert [e["org"] for e in entries] == [org_key(TOKEN_A), org_key(TOKEN_A), None]
    assert entries[0]["id"] < entries[1]["id"] < entries[2]["id"]
    assert all(e["duration_ms"] > 0 and re.match(r"^\d{4}-.*\.\d{3}Z$", e["time"]) for e in entries)


def test_filter_by_token_method_and_path_template(http: httpx.Client) -> None:
    trunk = http.post("/sip-trunks", json=trunk_body(), headers=bearer(TOKEN_A)).json()
    http.get(f"/sip-trunks/{trunk['id']}", headers=bearer(TOKEN_A))
    http.get(f"/sip-trunks/{TRUNK_ID}", headers=bearer(TOKEN_B))
    http.delete(f"/sip-trunks/{trunk['id']}", headers=bearer(TOKEN_A))

    def shown(**params: str) -> list[tuple[str, int]]:
        return [(e["method"], e["status"]) for e in journal(http, **params)]

    assert shown(token=TOKEN_B) == [("GET", 404)]
    assert shown(token=TOKEN_A, path="/sip-trunks/{id}") == [("GET", 200), ("DELETE", 204)]
    assert shown(method="delete") == [("DELETE", 204)]
    assert shown(path="/sip-trunks") == [("POST", 201)]
    assert shown(token="nobody") == []
    # The token is hashed to filter: neither it nor any token is ever shown back.
    text = http.get("/__admin/requests", params={"token": TOKEN_A}).text
    assert TOKEN_A not in text and TOKEN_B not in text


def test_no_password_in_the_journal_whatever_the_body(http: httpx.Client) -> None:
    json_headers = {**bearer(), "Content-Type": "application/json"}
    http.post("/sip-trunks", json=trunk_body(password=CANARY), headers=bearer())
    http.post("/sip-trunks", json=trunk_body(password=CANARY, port=0), headers=bearer())  # 400
    http.post("/sip-trunks", content=f'{{"password": "{CANARY}", '.encode(), headers=json_headers)
    http.post("/sip-trunks", content=iter([f'{{"password": "{CANARY}"}}'.encode()]), headers=json_headers)
    http.post("/sip-trunks", content=f"password={CANARY}".encode(), headers=bearer())  # 415, and not JSON
    http.get(f"/sip-trunks/{CANARY}", headers=bearer())  # a known password in a path
    text = http.get("/__admin/requests").text
    assert len(journal(http)) == 6
    assert CANARY not in text


def test_delete_empties_it(http: httpx.Client) -> None:
    http.get("/sip-trunks", headers=bearer())
    assert http.delete("/__admin/requests").status_code == 204
    assert journal(http) == []


def test_the_admin_api_and_the_docs_are_not_journaled(http: httpx.Client) -> None:
    http.get("/__admin/health")
    http.get("/openapi.json")
    http.get("/nope", headers=bearer())  # an unknown path is: the client called it
    assert [(e["path"], e["status"]) for e in journal(http)] == [("/nope", 404)]


def test_an_empty_token_filter_is_400(http: httpx.Client) -> None:
    assert_problem(http.get("/__admin/requests", params={"token": ""}), 400, "token")


def test_the_size_is_configurable_and_0_turns_it_off() -> None:
    with running_mock(MockConfig(access_log=False, journal_size=2)) as mock:
        for _ in range(3):
            httpx.get(f"{mock.base_url}/sip-trunks", headers=bearer())
        kept = httpx.get(f"{mock.base_url}/__admin/requests").json()
        assert kept["size"] == 2 and [e["id"] for e in kept["requests"]] == [2, 3]
    with running_mock(MockConfig(access_log=False, journal_size=0)) as mock:
        httpx.get(f"{mock.base_url}/sip-trunks", headers=bearer())
        assert httpx.get(f"{mock.base_url}/__admin/requests").json() == {"size": 0, "requests": []}
        assert httpx.delete(f"{mock.base_url}/__admin/requests").status_code == 204


def test_a_long_answer_is_kept_cut_over_the_socket(http: httpx.Client) -> None:
    # 200 trunks make a list answer of ~34 KiB: the journal keeps 16 KiB of it, as text.
    trunks = [{"name": f"trunk {n}", "host": "sip.provider.com", "username": "u"} for n in range(200)]
    assert (
        http.put("/__admin/state", json={"organizations": {TOKEN_A: {"trunks": trunks}}}).status_code == 200
    )
    assert len(http.get("/sip-trunks", headers=bearer()).content) > 2 * 16 * 1024
    (entry,) = journal(http)
    assert entry["truncated"] is True and len(entry["response_body"]) == 16 * 1024
