"""AdminClient over a real socket: every call of the admin API, and its errors as AdminError."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mockserver.client import AdminClient, AdminError, JournalEntry, fault_spec
from mockserver.controls.faults import FaultSpec, Latency
from mockserver.domain.models import org_key

from .helpers import TOKEN_A, TOKEN_B, bearer, trunk_body


@pytest.fixture
def admin(base_url: str) -> Iterator[AdminClient]:
    with AdminClient(base_url + "/") as client:
        client.reset()
        yield client


@pytest.mark.parametrize(
    ("args", "fields", "spec"),
    [
        (
            ("POST /sip-trunks status=503",),
            {"times": 2},
            FaultSpec("POST", "/sip-trunks", status=503, times=2),
        ),
        (
            (),
            {"path": "/phone-numbers", "latency": 50},
            FaultSpec(path="/phone-numbers", latency=Latency(50, 50)),
        ),
        ((), {"latency": "10-100ms"}, FaultSpec(latency=Latency(10, 100))),
        ((), {"latency": (1, 2), "drop": True}, FaultSpec(latency=Latency(1, 2), drop=True)),
        ((FaultSpec(status=429),), {"retry_after": 0}, FaultSpec(status=429, retry_after=0)),
    ],
    ids=["text-and-fields", "latency-ms", "latency-text", "latency-pair", "spec-and-fields"],
)
def test_fault_spec_from_text_and_fields(
    args: tuple[object, ...], fields: dict[str, object], spec: FaultSpec
) -> None:
    assert fault_spec(*args, **fields) == spec  # type: ignore[arg-type]


def test_state_health_and_reset(admin: AdminClient) -> None:
    assert admin.health() == {
        "status": "ok",
        "organizations": 0,
        "trunks": 0,
        "phone_numbers": 0,
        "accepts_any_key": True,
    }
    state = {"organizations": {TOKEN_A: {"trunks": [{"name": "n", "host": "h", "username": "u"}]}}}
    assert admin.put_state(state)["trunks"] == 1
    assert [t["name"] for t in admin.state()["organizations"][TOKEN_A]["trunks"]] == ["n"]
    admin.reset(TOKEN_A)
    assert admin.health()["trunks"] == 0


def test_faults(admin: AdminClient) -> None:
    fault = admin.inject("GET /sip-trunks status=503", times=1, token=TOKEN_A)
    assert (fault["id"], fault["org"], fault["remaining"]) == ("f1", org_key(TOKEN_A), 1)
    assert httpx.get(f"{admin.base_url}/sip-trunks", headers=bearer(TOKEN_A)).status_code == 503
    assert [f["hits"] for f in admin.faults()] == [1]
    admin.inject(status=429)
    admin.remove_fault("f1")
    assert [f["id"] for f in admin.faults()] == ["f2"]
    admin.inject(status=503, token=TOKEN_B)
    admin.clear_faults(TOKEN_B)
    assert [f["id"] for f in admin.faults()] == ["f2"]
    admin.clear_faults()
    assert admin.faults() == []


def test_requests(admin: AdminClient) -> None:
    created = httpx.post(f"{admin.base_url}/sip-trunks", json=trunk_body(), headers=bearer(TOKEN_A))
    httpx.get(f"{admin.base_url}/sip-trunks", headers=bearer(TOKEN_B))
    entries = admin.requests()
    assert [type(e) for e in entries] == [JournalEntry, JournalEntry]
    first = entries[0]
    assert (first.method, first.path, first.status, first.org, first.faults) == (
        "POST",
        "/sip-trunks",
        201,
        org_key(TOKEN_A),
        (),
    )
    assert first.request_body["password"] == "********" and first.response_body == created.json()
    assert [e.status for e in admin.requests(token=TOKEN_B, method="GET", path="/sip-trunks")] == [200]
    admin.clear_requests()
    assert admin.requests() == []


def test_rate_limit(admin: AdminClient) -> None:
    assert admin.rate_limit() is None
    admin.set_rate_limit("600/min")
    assert admin.rate_limit() == "600/m"
    admin.set_rate_limit(None)
    assert admin.rate_limit() is None


@pytest.mark.parametrize(
    ("call", "status", "detail"),
    [
        (
            lambda a: a.inject("GET /sip-trunks status=409"),
            400,
            "status 409 is not documented for GET /sip-trunks",
        ),
        (lambda a: a.remove_fault("f99"), 404, "No fault with this id"),
        (lambda a: a.set_rate_limit("often"), 400, "rate limit 'often' is not like 10/s"),
        (lambda a: a.put_state({"organizations": {"k": {"trunks": [{}]}}}), 400, "is a required property"),
        (lambda a: a.reset(""), 400, "query parameter 'token': length must be at least 1"),
    ],
    ids=["undocumented-status", "unknown-fault", "bad-rate", "bad-state", "empty-token"],
)
def test_refusals_are_admin_errors(admin: AdminClient, call: object, status: int, detail: str) -> None:
    with pytest.raises(AdminError) as info:
        call(admin)  # type: ignore[operator]
    assert info.value.status == status and detail in info.value.detail
    assert str(info.value).startswith(f"{status}: ")


def test_a_fault_with_a_bad_syntax_is_refused_before_any_call(admin: AdminClient) -> None:
    with pytest.raises(ValueError, match="unknown option 'stauts'"):
        admin.inject("GET /sip-trunks stauts=503")


def test_the_client_closes_and_shows_where_it_points(base_url: str) -> None:
    client = AdminClient(base_url)
    assert repr(client) == f"<AdminClient {base_url}>"
    with client:
        client.health()
    with pytest.raises(RuntimeError):
        client.health()
