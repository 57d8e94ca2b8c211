"""The admin API under /__admin: health, reset, state export and import."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from mockserver import MockConfig, Store

from .helpers import TOKEN_A, TOKEN_B, bearer, trunk_body

pytestmark = pytest.mark.anyio

TRUNK_ID = "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/__admin/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "organizations": 0,
        "trunks": 0,
        "phone_numbers": 0,
        "accepts_any_key": True,
    }


@pytest.mark.parametrize(("tokens", "any_key"), [((), True), ((TOKEN_A,), False)], ids=["any-key", "--token"])
async def test_health_says_whether_any_key_is_an_organization(
    tokens: tuple[str, ...], any_key: bool, make_client: Callable[..., httpx.AsyncClient]
) -> None:
    # `sip-trunks check` reads it to skip, not fail, the checks that need an unknown key refused.
    async with make_client(MockConfig(tokens=tokens, validate_responses=True)) as client:
        assert (await client.get("/__admin/health")).json()["accepts_any_key"] is any_key
        put = await client.put("/__admin/state", json={"organizations": {}})
        assert put.json()["accepts_any_key"] is any_key


async def test_admin_needs_no_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/__admin/state")).status_code == 200


async def test_reset_all(client: httpx.AsyncClient, store: Store) -> None:
    await client.post("/sip-trunks", json=trunk_body(), headers=bearer(TOKEN_A))
    await client.post("/sip-trunks", json=trunk_body(), headers=bearer(TOKEN_B))
    response = await client.post("/__admin/reset")
    assert response.status_code == 204 and response.content == b""
    assert store.stats()["trunks"] == 0 and len(store.vault) == 0


async def test_reset_one_token(client: httpx.AsyncClient, store: Store) -> None:
    await client.post("/sip-trunks", json=trunk_body(), headers=bearer(TOKEN_A))
    kept = (await client.post("/sip-trunks", json=trunk_body(), headers=bearer(TOKEN_B))).json()
    assert (await client.post("/__admin/reset", params={"token": TOKEN_A})).status_code == 204
    assert (await client.get("/sip-trunks", headers=bearer(TOKEN_A))).json() == {"trunks": []}
    assert (await client.get("/sip-trunks", headers=bearer(TOKEN_B))).json() == {"trunks": [kept]}


async def test_state_export_never_holds_passwords(client: httpx.AsyncClient) -> None:
    trunk = (
        await client.post("/sip-trunks", json=trunk_body(password="export-me-not"), headers=bearer())
    ).json()
    response = await client.get("/__admin/state")
    assert response.status_code == 200
    assert "export-me-not" not in response.text and "password" not in response.text
    organization = response.json()["organizations"][TOKEN_A]
    assert organization["trunks"] == [trunk]
    assert len(organization["phone_numbers"]) == 3


async def test_state_round_trips_and_imported_trunks_have_no_password(
    client: httpx.AsyncClient, store: Store
) -> None:
    await client.post("/sip-trunks", json=trunk_body(), headers=bearer())
    exported = (await client.get("/__admin/state")).json()
    await client.post("/__admin/reset")
    response = await client.put("/__admin/state", json=exported)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "organizations": 1,
        "trunks": 1,
        "phone_numbers": 3,
        "accepts_any_key": True,
    }
    assert (await client.get("/__admin/state")).json() == exported
    assert len(store.vault) == 0


async def test_state_import_with_a_password_fills_the_vault(client: httpx.AsyncClient, store: Store) -> None:
    state = {
        "organizations": {
            TOKEN_A: {
                "trunks": [
                    {"id": TRUNK_ID, "name": "n", "host": "h", "username": "u", "password": "imported-pw"}
                ],
                "phone_numbers": [{"number": "+14155550100", "transfer_trunk_id": TRUNK_ID}],
            }
        }
    }
    assert (await client.put("/__admin/state", json=state)).status_code == 200
    assert store.vault.verify(TRUNK_ID, "imported-pw")
    numbers = (await client.get("/phone-numbers", headers=bearer())).json()["phone_numbers"]
    assert [n["transfer_trunk_id"] for n in numbers] == [TRUNK_ID]
    assert "imported-pw" not in (await client.get("/__admin/state")).text


@pytest.mark.parametrize(
    ("state", "detail"),
    [
        ({}, "organizations"),
        ({"organizations": {TOKEN_A: {"trunks": [{"name": "n", "host": "h"}]}}}, "username"),
        (
            {
                "organizations": {
                    TOKEN_A: {"trunks": [{"name": "n", "host": "h", "username": "u", "port": 0}]}
                }
            },
            "port",
        ),
        (
            {
                "organizations": {
                    TOKEN_A: {"phone_numbers": [{"number": "+14155550100", "transfer_trunk_id": TRUNK_ID}]}
                }
            },
            "transfer_trunk_id",
        ),
    ],
    ids=["no-organizations", "missing-field", "bad-port", "dangling-link"],
)
async def test_an_invalid_state_is_400_and_changes_nothing(
    client: httpx.AsyncClient, store: Store, state: dict[str, object], detail: str
) -> None:
    await client.post("/sip-trunks", json=trunk_body(), headers=bearer())
    before = store.export_state()
    response = await client.put("/__admin/state", json=state)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]
    assert store.export_state() == before


def _text(template: str, value: str) -> str:
    """``template`` with ``@`` replaced by ``value``: JSON text with a number no parser would build."""
    return template.replace("@", value)


NESTED = "[" * 30000 + "]" * 30000
TRUNK = '{"organizations": {"k": {"trunks": [{"name": "n", "host": "h", "username": "u", @}]}}}'

# Hostile admin inputs, as raw JSON text: huge numbers (some past int()'s 4300 digits), huge
# strings, deep nesting. Each must be a 4xx problem that leaves the mock serving as before.
HOSTILE_ADMIN_INPUTS: dict[str, tuple[str, str, str]] = {
    "rate-count-400-digits": ("PUT", "/__admin/rate-limit", _text('{"rate": "@/s"}', "9" * 400)),
    "rate-period-400-digits": ("PUT", "/__admin/rate-limit", _text('{"rate": "1/@s"}', "9" * 400)),
    "rate-count-11-digits": ("PUT", "/__admin/rate-limit", '{"rate": "99999999999/s"}'),
    "rate-60000-chars": ("PUT", "/__admin/rate-limit", _text('{"rate": "@"}', "1" * 60000)),
    "rate-nested": ("PUT", "/__admin/rate-limit", _text('{"rate": @}', NESTED)),
    "fault-times-400-digits": ("POST", "/__admin/faults", _text('{"status": 503, "times": @}', "9" * 400)),
    "fault-times-5000-digits": ("POST", "/__admin/faults", _text('{"status": 503, "times": @}', "9" * 5000)),
    "fault-status-400-digits": ("POST", "/__admin/faults", _text('{"status": @}', "5" * 400)),
    "fault-retry-after-400-digits": (
        "POST",
        "/__admin/faults",
        _text('{"status": 503, "retry_after": @}', "9" * 400),
    ),
    "fault-latency-1e400": ("POST", "/__admin/faults", '{"latency_ms": 1e400}'),
    "fault-fraction-nan": ("POST", "/__admin/faults", '{"status": 503, "fraction": NaN}'),
    "fault-method-60000-chars": (
        "POST",
        "/__admin/faults",
        _text('{"status": 503, "method": "@"}', "G" * 60000),
    ),
    "fault-path-60000-chars": (
        "POST",
        "/__admin/faults",
        _text('{"status": 503, "path": "/@"}', "(" * 60000),
    ),
    "state-empty-key": ("PUT", "/__admin/state", '{"organizations": {"": {}}}'),
    "state-padded-key": ("PUT", "/__admin/state", '{"organizations": {" k ": {}}}'),
    "state-port-5000-digits": ("PUT", "/__admin/state", _text(TRUNK, '"port": ' + "9" * 5000)),
    "state-password-60000-chars": (
        "PUT",
        "/__admin/state",
        _text(TRUNK, '"password": "' + "p" * 60000 + '"'),
    ),
    "state-nested": ("PUT", "/__admin/state", _text('{"organizations": {"k": {"trunks": @}}}', NESTED)),
}


@pytest.mark.parametrize("case", list(HOSTILE_ADMIN_INPUTS))
def test_hostile_admin_inputs_are_4xx_and_the_mock_keeps_serving(http: httpx.Client, case: str) -> None:
    method, path, text = HOSTILE_ADMIN_INPUTS[case]
    headers = {"Content-Type": "application/json"}
    response = http.request(method, path, content=text.encode(), headers=headers, timeout=10)
    assert 400 <= response.status_code < 500, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    assert len(response.content) < 2000  # the refused value is not echoed back whole
    # Nothing was taken in: the product API and the admin API answer as before.
    assert http.get("/__admin/rate-limit").json() == {"rate": None}
    assert http.get("/__admin/faults").json() == {"faults": []}
    assert http.get("/__admin/state").json() == {"organizations": {}}
    assert http.post("/sip-trunks", json=trunk_body(), headers=bearer(), timeout=10).status_code == 201
    assert http.get("/sip-trunks", headers=bearer(), timeout=10).status_code == 200


async def test_an_empty_token_to_reset_is_400_in_one_line(client: httpx.AsyncClient) -> None:
    response = await client.post("/__admin/reset?token=")
    assert response.status_code == 400
    assert response.json()["detail"] == "query parameter 'token': length must be at least 1"


async def test_reset_also_clears_faults_journal_and_rate_limit(client: httpx.AsyncClient) -> None:
    await client.post("/__admin/faults", json={"status": 503, "token": TOKEN_A})
    await client.put("/__admin/rate-limit", json={"rate": "1/h"})
    assert (await client.get("/sip-trunks", headers=bearer(TOKEN_A))).status_code == 503
    await client.get("/sip-trunks", headers=bearer(TOKEN_B))
    # One organization: its faults, its bucket and its journal entries only.
    assert (await client.post("/__admin/reset", params={"token": TOKEN_A})).status_code == 204
    assert (await client.get("/__admin/faults")).json() == {"faults": []}
    assert [e["status"] for e in (await client.get("/__admin/requests")).json()["requests"]] == [200]
    assert (await client.get("/sip-trunks", headers=bearer(TOKEN_B))).status_code == 429
    # Everything: the journal is empty and the rate limit is the start's (none).
    assert (await client.post("/__admin/reset")).status_code == 204
    assert (await client.get("/__admin/requests")).json() == {"size": 1000, "requests": []}
    assert (await client.get("/__admin/rate-limit")).json() == {"rate": None}
